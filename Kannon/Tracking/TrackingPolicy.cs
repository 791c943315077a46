using System.Text.Json.Serialization;

namespace Kannon.Tracking;

/// <summary>
/// Tracking modes per axis: off, anonymous, pseudonymous, identified or full.
/// A null axis is unstated (a Batch that leaves the Domain's policy in force).
/// </summary>
internal sealed record TrackingPolicy(
    [property: JsonPropertyName("opens")] string? Opens,
    [property: JsonPropertyName("links")] string? Links)
{
    public static TrackingPolicy Default { get; } = new("identified", "identified");

    public static TrackingPolicy Unstated { get; } = new(null, null);
}
