using Kannon.Data;
using Kannon.Tracking;

namespace Kannon.Pool;

/// <summary>One recipient of a Batch, waiting in the Pool until its outcome is known.</summary>
internal sealed class Delivery
{
    public long Id { get; set; }

    public DateTimeOffset ScheduledTime { get; set; }

    public DateTimeOffset OriginalScheduledTime { get; set; }

    public int SendAttemptsCount { get; set; }

    public required string Email { get; set; }

    public required string MessageId { get; set; }

    public Dictionary<string, string> Fields { get; set; } = [];

    public string Status { get; set; } = DeliveryStatus.ToValidate;

    public DateTimeOffset CreatedAt { get; set; }

    public required string Domain { get; set; }

    public TrackingPolicy Tracking { get; set; } = TrackingPolicy.Default;

    public DateTimeOffset? ClaimedAt { get; set; }
}
