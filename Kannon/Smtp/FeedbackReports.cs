using MimeKit;

namespace Kannon.Smtp;

/// <summary>
/// Reads an RFC 5965 abuse report (ARF: <c>multipart/report; report-type=feedback-report</c>): its feedback type,
/// who reported it, and what in it can name our original message — the return path (the embedded message's
/// <c>Return-Path</c>, the report's <c>Original-Mail-From</c>) and the embedded <c>Message-ID</c>. Which of
/// those is trusted is the caller's decision (only a signed return path is, ADR 0011).
/// </summary>
internal static class FeedbackReports
{
    private const int MaxFieldLength = 1000;

    public static FeedbackReport? Read(MimeMessage message)
    {
        if (message.Body is not MultipartReport report
            || !string.Equals(report.ReportType, "feedback-report", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var fields = report.OfType<MimeEntity>()
            .Where(p => p.ContentType.IsMimeType("message", "feedback-report"))
            .SelectMany(p => ReportFields.Parse(FieldText(p)))
            .FirstOrDefault(g => g.Contains("Feedback-Type"));
        if (fields is null)
        {
            return null;
        }

        var original = report.OfType<MimeEntity>().Select(EmbeddedHeaders).FirstOrDefault(h => h is not null);
        var returnPaths = new List<string>();
        if (original?["Return-Path"] is { } returnPath)
        {
            returnPaths.Add(Address(returnPath));
        }

        if (fields["Original-Mail-From"] is { } mailFrom)
        {
            returnPaths.Add(Address(mailFrom));
        }

        return new FeedbackReport(
            Limit(fields["Feedback-Type"]).ToLowerInvariant(),
            Limit(fields["Reporting-MTA"] is { } mta ? mta[(mta.IndexOf(';', StringComparison.Ordinal) + 1)..] : fields["User-Agent"]),
            returnPaths.Where(r => r.Length > 0).Distinct(StringComparer.Ordinal).ToList(),
            original?["Message-ID"]?.Trim());
    }

    private static string FieldText(MimeEntity part) => part switch
    {
        MimePart { Content: not null } mime => Decode(mime),
        MessagePart { Message: { } embedded } => string.Join("\n", embedded.Headers.Select(h => $"{h.Field}: {h.Value}")),
        _ => "",
    };

    private static string Decode(MimePart part)
    {
        using var decoded = new MemoryStream();
        part.Content?.DecodeTo(decoded);
        return System.Text.Encoding.UTF8.GetString(decoded.GetBuffer(), 0, (int)decoded.Length);
    }

    /// <summary>The headers of the reported message: message/rfc822 (whole) or text/rfc822-headers (headers only).</summary>
    private static HeaderList? EmbeddedHeaders(MimeEntity part)
    {
        if (part is MessagePart { Message: { } embedded } && !part.ContentType.IsMimeType("message", "feedback-report"))
        {
            return embedded.Headers;
        }

        if (part is MimePart { Content: not null } mime && part.ContentType.IsMimeType("text", "rfc822-headers"))
        {
            return HeaderList.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(Decode(mime) + "\r\n")));
        }

        return null;
    }

    private static string Address(string value) => value.Trim().Trim('<', '>').Trim();

    private static string Limit(string? value)
    {
        var clean = string.Join(' ', (value ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return clean.Length <= MaxFieldLength ? clean : clean[..MaxFieldLength];
    }
}

/// <summary>What an abuse report says: the feedback type (abuse, fraud, …), its reporter, and the candidates that may name our message.</summary>
internal sealed record FeedbackReport(string FeedbackType, string ReportingMta, IReadOnlyList<string> ReturnPaths, string? MessageId);
