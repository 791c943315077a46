using Kannon.Tracking;

namespace Kannon.Domains;

internal sealed class Domain
{
    public int Id { get; set; }

    public required string Name { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public TrackingPolicy Tracking { get; set; } = TrackingPolicy.Default;

    public string Unsubscribe { get; set; } = UnsubscribeMode.Hosted;
}
