using System.Diagnostics.Metrics;

namespace Kannon.Stats;

/// <summary>The Stats module's metrics, named <c>Kannon.Stats</c>.</summary>
internal sealed class StatsMetrics : IDisposable
{
    public const string Name = "Kannon.Stats";

    private readonly Meter _meter;
    private readonly Counter<long> _recorded;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _terminated;
    private readonly Counter<long> _pruned;

    public StatsMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(Name);
        _recorded = _meter.CreateCounter<long>("kannon.stats.recorded", description: "Outcome events stored as new rows");
        _duplicates = _meter.CreateCounter<long>("kannon.stats.duplicates", description: "Outcome events already stored (redeliveries, retried publishes)");
        _terminated = _meter.CreateCounter<long>("kannon.stats.terminated", description: "Outcome events that can never be stored");
        _pruned = _meter.CreateCounter<long>("kannon.stats.pruned", description: "Rows deleted by retention");
    }

    public void Recorded(int inserted, int duplicates)
    {
        _recorded.Add(inserted);
        _duplicates.Add(duplicates);
    }

    public void Terminated() => _terminated.Add(1);

    public void Pruned(long rows, string table) => _pruned.Add(rows, new KeyValuePair<string, object?>("table", table));

    public void Dispose() => _meter.Dispose();
}
