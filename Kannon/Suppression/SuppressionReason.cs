namespace Kannon.Suppression;

/// <summary>Why a domain no longer sends to an address; the values stored in <c>suppressions.reason</c>.</summary>
internal static class SuppressionReason
{
    /// <summary>A permanent (5.x.x) failure: a 5xx at RCPT or an RFC 3464 report with Action: failed.</summary>
    public const string HardBounce = "hard_bounce";

    /// <summary>An RFC 5965 (ARF) abuse report from a mailbox provider's feedback loop.</summary>
    public const string Complaint = "complaint";

    /// <summary>The recipient asked to stop (RFC 8058 one-click, or the hosted page).</summary>
    public const string Unsubscribe = "unsubscribe";

    /// <summary>Added by an operator through the Suppression API or the CLI.</summary>
    public const string Manual = "manual";

    public static readonly IReadOnlyList<string> All = [HardBounce, Complaint, Unsubscribe, Manual];
}
