using System.Text.RegularExpressions;
using Kannon.Protos.Bounce.Types;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Suppression;

/// <summary>
/// Which evidence suppresses an address. A report: a DSN with <c>Action: failed</c> and a 5.x.x status
/// (a hard bounce; <c>delayed</c> and 4.x.x never suppress), an ARF complaint, an unsubscribe request. The
/// Sender's own permanent bounce only when the reply is about the address (5.1.x but the sender's 5.1.7/5.1.8,
/// 5.2.1 disabled mailbox, or a bare 550/551/553): a 5xx for our content or policy is no reason to stop mailing it.
/// </summary>
internal static partial class SuppressionRules
{
    /// <summary>Where a Sender-seen bounce comes from, in the evidence.</summary>
    public const string RcptSource = "rcpt";

    public static SuppressionEvidence? FromReport(Bounce report)
    {
        var observedAt = report.ArrivedAt?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch;
        string? reason = report.Kind switch
        {
            BounceKind.Dsn when report.Action.Equals("failed", StringComparison.OrdinalIgnoreCase) && report.Status.StartsWith("5.", StringComparison.Ordinal)
                => SuppressionReason.HardBounce,
            BounceKind.Arf => SuppressionReason.Complaint,
            BounceKind.Unsubscribe => SuppressionReason.Unsubscribe,
            _ => null,
        };
        if (reason is null || report.Email.Length == 0 || report.Domain.Length == 0)
        {
            return null;
        }

        var source = report.ReportingMta.Length > 0 ? report.ReportingMta : report.Kind == BounceKind.Unsubscribe ? "tracker" : "";
        return new SuppressionEvidence(report.Domain, report.Email, reason, report.Status, report.Diagnostic, report.MessageId, source, observedAt);
    }

    /// <summary>The evidence in a Sender's <c>bounced</c> outcome, or null when it does not condemn the address.</summary>
    public static SuppressionEvidence? FromSenderBounce(StatsEvent stat)
    {
        if (stat.Data?.Bounced is not { Permanent: true } bounced || bounced.Code is < 500 or > 599 || stat.Email.Length == 0)
        {
            return null;
        }

        var status = EnhancedStatus().Match(bounced.Msg) is { Success: true } m ? m.Value : "";
        var aboutTheAddress = status.Length > 0
            ? (status.StartsWith("5.1.", StringComparison.Ordinal) && status is not ("5.1.7" or "5.1.8")) || status == "5.2.1"
            : bounced.Code is 550 or 551 or 553;
        if (!aboutTheAddress)
        {
            return null;
        }

        return new SuppressionEvidence(stat.Domain, stat.Email, SuppressionReason.HardBounce,
            status.Length > 0 ? status : bounced.Code.ToString(System.Globalization.CultureInfo.InvariantCulture),
            $"{bounced.Code} {bounced.Msg}".Trim(), stat.MessageId, RcptSource, stat.Timestamp?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch);
    }

    [GeneratedRegex(@"^\s*5\.\d{1,3}\.\d{1,3}\b")]
    private static partial Regex EnhancedStatus();
}
