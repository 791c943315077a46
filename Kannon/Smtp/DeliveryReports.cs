using System.Text.RegularExpressions;
using MimeKit;

namespace Kannon.Smtp;

/// <summary>
/// Reads a report sent to a return path. An RFC 3464 DSN (multipart/report with a message/delivery-status
/// part) is read per recipient: only <c>Action: failed</c> is a bounce; <c>delayed</c>, <c>relayed</c>,
/// <c>delivered</c> and <c>expanded</c> are not (the original counted delays as bounces). A report without
/// a delivery-status part is a bounce only when its text carries a 5xx reply
/// (<c>Diagnostic-Code: smtp; 550 …</c> or a line like <c>550 5.1.1 …</c>); nothing recognisable is no bounce.
/// The returned message is never inside an attached copy of the original mail.
/// </summary>
internal static partial class DeliveryReports
{
    // Bounds what a remote server can put into an event.
    private const int MaxMessageLength = 1000;

    /// <summary>What <paramref name="message"/> says about the delivery to <paramref name="recipient"/>.</summary>
    public static ReportVerdict Read(MimeMessage message, string recipient)
    {
        var statusParts = Parts(message.Body).Where(IsDeliveryStatus).ToList();
        var groups = statusParts.SelectMany(StatusGroups).ToList();
        var blocks = groups.Where(g => g.Contains("Action")).ToList();
        if (blocks.Count > 0)
        {
            var reportingMta = groups.Select(g => g["Reporting-MTA"]).FirstOrDefault(v => v is not null);
            return FromBlocks(blocks, recipient) with { ReportingMta = Truncate(AfterType(reportingMta)) };
        }

        return FromText(Parts(message.Body).Select(TextOf).Where(t => t.Length > 0));
    }

    private static ReportVerdict FromBlocks(List<HeaderList> blocks, string recipient)
    {
        var failed = blocks.Where(b => FirstToken(b["Action"]).Equals("failed", StringComparison.OrdinalIgnoreCase)).ToList();
        if (failed.Count == 0)
        {
            var actions = string.Join(", ", blocks.Select(b => FirstToken(b["Action"]).ToLowerInvariant()).Distinct());
            var about = Naming(blocks, recipient) ?? blocks[0];
            return ReportVerdict.NotABounce($"delivery status report with action {actions}") with
            {
                Action = FirstToken(about["Action"]).ToLowerInvariant(),
                Status = FirstToken(about["Status"]),
                Diagnostic = Truncate(Clean(about["Diagnostic-Code"])),
            };
        }

        // One recipient per Envelope (VERP), so normally one block; prefer the one naming our recipient.
        var block = Naming(failed, recipient) ?? failed[0];
        var status = FirstToken(block["Status"]);
        var diagnostic = Clean(block["Diagnostic-Code"]);
        var diagnosticCode = diagnostic.Length > 0 && DiagnosticReply().Match(diagnostic) is { Success: true } m ? uint.Parse(m.Groups["code"].Value) : (uint?)null;
        var statusClass = status.Length > 0 && status[0] is '4' or '5' ? status[0] : (char?)null;
        var permanent = statusClass is { } c ? c == '5' : diagnosticCode is not { } d || d >= 500;
        var code = diagnosticCode is { } reply && reply / 100 == (permanent ? 5u : 4u) ? reply : permanent ? 550u : 450u;
        var text = diagnostic.Length > 0 ? diagnostic : status.Length > 0 ? status : "failed";
        return ReportVerdict.Bounced(permanent, code, Truncate(text)) with
        {
            Action = "failed",
            Status = status,
            Diagnostic = Truncate(diagnostic),
        };
    }

    private static HeaderList? Naming(List<HeaderList> blocks, string recipient) =>
        blocks.FirstOrDefault(b => Names(b["Final-Recipient"], recipient) || Names(b["Original-Recipient"], recipient));

    private static ReportVerdict FromText(IEnumerable<string> texts)
    {
        foreach (var text in texts)
        {
            if (DiagnosticLine().Match(text) is { Success: true } diagnostic)
            {
                var value = Truncate(Clean(diagnostic.Groups["value"].Value));
                return ReportVerdict.Bounced(true, uint.Parse(diagnostic.Groups["code"].Value), value) with
                {
                    Action = "failed",
                    Status = EnhancedStatus().Match(value) is { Success: true } s ? s.Value : "",
                    Diagnostic = value,
                };
            }

            if (ReplyLine().Match(text) is { Success: true } reply)
            {
                var value = Truncate(Clean(reply.Value));
                return ReportVerdict.Bounced(true, uint.Parse(reply.Groups["code"].Value), value) with
                {
                    Action = "failed",
                    Status = reply.Groups["status"].Value,
                    Diagnostic = value,
                };
            }
        }

        return ReportVerdict.NotABounce("no delivery status and no 5xx reply in the text");
    }

    /// <summary>Every leaf part, without entering attached messages (the returned original).</summary>
    private static IEnumerable<MimeEntity> Parts(MimeEntity? entity)
    {
        switch (entity)
        {
            case Multipart multipart:
                foreach (var child in multipart)
                {
                    foreach (var part in Parts(child))
                    {
                        yield return part;
                    }
                }

                break;
            case MessagePart:
                break;
            case MimePart part:
                yield return part;
                break;
        }
    }

    internal static bool IsDeliveryStatus(MimeEntity part) =>
        part is MessageDeliveryStatus
        || part.ContentType.IsMimeType("message", "delivery-status")
        || part.ContentType.IsMimeType("message", "global-delivery-status");

    /// <summary>The field groups of a delivery-status part: the per-message one (Reporting-MTA) and one per recipient (with an Action).</summary>
    private static IEnumerable<HeaderList> StatusGroups(MimeEntity part)
    {
        if (part is MessageDeliveryStatus status)
        {
            return status.StatusGroups;
        }

        // message/global-delivery-status (RFC 6533): the same fields in UTF-8, not typed by MimeKit.
        return ReportFields.Parse(TextOf(part));
    }

    internal static string TextOf(MimeEntity entity)
    {
        switch (entity)
        {
            case TextPart text:
                return text.Text ?? "";
            case MimePart { Content: not null } part when part is MessageDeliveryStatus || IsDeliveryStatus(part):
                using (var decoded = new MemoryStream())
                {
                    part.Content.DecodeTo(decoded);
                    return System.Text.Encoding.UTF8.GetString(decoded.GetBuffer(), 0, (int)decoded.Length);
                }

            default:
                return "";
        }
    }

    private static bool Names(string? field, string recipient) =>
        field is not null && field.Trim().EndsWith(recipient, StringComparison.OrdinalIgnoreCase);

    /// <summary>"dns; mx.example.net" → "mx.example.net".</summary>
    private static string AfterType(string? value) => value is null ? "" : Clean(value[(value.IndexOf(';', StringComparison.Ordinal) + 1)..]);

    private static string FirstToken(string? value) => value?.Trim().Split([' ', '\t', '(', ';'], 2)[0] ?? "";

    private static string Clean(string? value) => value is null ? "" : Whitespace().Replace(value, " ").Trim();

    private static string Truncate(string value) => value.Length <= MaxMessageLength ? value : value[..MaxMessageLength];

    // "smtp; 550 5.1.1 …": the reply code after the diagnostic type.
    [GeneratedRegex(@"^(?:[^;]*;)?\s*(?<code>[245]\d\d)\b")]
    private static partial Regex DiagnosticReply();

    [GeneratedRegex(@"^[ \t]*Diagnostic-Code:[ \t]*(?<value>smtp;[ \t]*(?<code>5\d\d)\b[^\r\n]*)", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex DiagnosticLine();

    // A 5xx reply with an enhanced status code, as MTAs quote them in plain-text bounces.
    [GeneratedRegex(@"^[ \t]*(?<code>5\d\d)[ \t-]+(?<status>5\.\d{1,3}\.\d{1,3})\b[^\r\n]*", RegexOptions.Multiline)]
    private static partial Regex ReplyLine();

    [GeneratedRegex(@"\b[245]\.\d{1,3}\.\d{1,3}\b")]
    private static partial Regex EnhancedStatus();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

}

/// <summary>
/// A report's meaning for one recipient: a bounce with its reply, or why it is not one. <see cref="Action"/>,
/// <see cref="Status"/>, <see cref="Diagnostic"/> and <see cref="ReportingMta"/> are what the report itself said
/// (empty when it said nothing recognisable): the evidence a <c>Bounce</c> event carries.
/// </summary>
internal sealed record ReportVerdict(bool IsBounce, bool Permanent, uint Code, string Message)
{
    public string Action { get; init; } = "";

    public string Status { get; init; } = "";

    public string Diagnostic { get; init; } = "";

    public string ReportingMta { get; init; } = "";

    /// <summary>A delivery status for this recipient (any action) or a recognised bounce: worth a <c>Bounce</c> event.</summary>
    public bool IsReport => IsBounce || Action.Length > 0;

    public static ReportVerdict Bounced(bool permanent, uint code, string message) => new(true, permanent, code, message);

    public static ReportVerdict NotABounce(string why) => new(false, false, 0, why);
}
