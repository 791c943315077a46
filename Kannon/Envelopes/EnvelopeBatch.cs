using Kannon.Dkim;

namespace Kannon.Envelopes;

/// <summary>What every Delivery of a Batch shares. Make it once per Batch and reuse the instance: the
/// template caches compare the sources by reference first.</summary>
internal sealed record EnvelopeBatch
{
    /// <summary><c>msg_&lt;id&gt;@&lt;domain&gt;</c>.</summary>
    public required string BatchId { get; init; }

    /// <summary>The sending domain: tracking host <c>stats.&lt;domain&gt;</c> when no tracker base URL is set.</summary>
    public required string Domain { get; init; }

    /// <summary>The subject template (rendered per recipient, not HTML-encoded).</summary>
    public required string Subject { get; init; }

    public required string TemplateId { get; init; }

    /// <summary>The HTML template (global fields already baked in at intake).</summary>
    public required string Html { get; init; }

    public required string SenderEmail { get; init; }

    public string SenderAlias { get; init; } = "";

    /// <summary><c>headers.to</c>: the visible To when given (the mail still goes only to the recipient).</summary>
    public IReadOnlyList<string> To { get; init; } = [];

    /// <summary><c>headers.cc</c>: visible only, nobody on it is sent a copy.</summary>
    public IReadOnlyList<string> Cc { get; init; } = [];

    public IReadOnlyList<EnvelopeAttachment> Attachments { get; init; } = [];

    /// <summary>
    /// The Domain's unsubscribe setting is <c>hosted</c>: a recipient without an unsubscribe URL of its own gets
    /// Kannon's one-click <c>List-Unsubscribe</c> (the Tracker's <c>/u/</c> link and a mailto: to the return path).
    /// </summary>
    public bool HostedUnsubscribe { get; init; }

    /// <summary>Null: the message goes out unsigned.</summary>
    public DkimMaterial? Dkim { get; init; }

    /// <summary>W3C traceparent of the call that created the Batch, if it was traced.</summary>
    public string? TraceParent { get; init; }
}
