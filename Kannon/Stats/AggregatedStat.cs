namespace Kannon.Stats;

internal sealed class AggregatedStat
{
    public required string Domain { get; set; }

    /// <summary>Start of the UTC hour the events fell in.</summary>
    public DateTimeOffset Timestamp { get; set; }

    public required string Type { get; set; }

    public long Count { get; set; }
}
