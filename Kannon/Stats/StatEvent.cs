namespace Kannon.Stats;

internal sealed class StatEvent
{
    public long Id { get; set; }

    public required string Type { get; set; }

    public required string Email { get; set; }

    public required string MessageId { get; set; }

    public required string Domain { get; set; }

    public DateTimeOffset Timestamp { get; set; }

    /// <summary>Raw jsonb in the protojson shape of <c>StatsData</c>, e.g. <c>{"opened":{"ip":"..."}}</c>.</summary>
    public string Data { get; set; } = "{}";
}
