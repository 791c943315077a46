using Kannon.Tracking;

namespace Kannon.Pool;

/// <summary>One send request: the content shared by its Deliveries.</summary>
internal sealed class Batch
{
    public required string MessageId { get; set; }

    public required string Subject { get; set; }

    public required string SenderEmail { get; set; }

    public required string SenderAlias { get; set; }

    public required string TemplateId { get; set; }

    public required string Domain { get; set; }

    /// <summary>Raw jsonb, e.g. <c>{"to":[...],"cc":[...]}</c>.</summary>
    public string Headers { get; set; } = "{}";

    public TrackingPolicy Tracking { get; set; } = TrackingPolicy.Unstated;

    public DateTimeOffset CreatedAt { get; set; }

    public List<BatchAttachment> Attachments { get; init; } = [];

    /// <summary>W3C traceparent of the API call that created the Batch.</summary>
    public string? TraceParent { get; set; }
}
