namespace Kannon.Suppression;

/// <summary>
/// One row of <c>suppressions</c>: an address a sending domain no longer delivers to, with the
/// evidence that put it there. Keyed by (Domain, Email); Email is stored as given at intake (the
/// comparison is case-insensitive on the domain part only, like the rest of the send path).
/// </summary>
internal sealed class SuppressedAddress
{
    public required string Domain { get; set; }

    public required string Email { get; set; }

    /// <summary>One of <see cref="SuppressionReason"/>.</summary>
    public required string Reason { get; set; }

    public string StatusCode { get; set; } = "";

    public string Diagnostic { get; set; } = "";

    /// <summary>Batch id of the message that caused it; empty when added by hand.</summary>
    public string MessageId { get; set; } = "";

    /// <summary>Reporting MTA, "rcpt" (the Sender's 5xx), "tracker", or "api".</summary>
    public string Source { get; set; } = "";

    public string Note { get; set; } = "";

    public DateTimeOffset ObservedAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
