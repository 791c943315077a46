using System.Diagnostics.Metrics;

namespace Kannon.Tracking;

/// <summary>The Tracker's metrics, named <c>Kannon.Tracker</c>.</summary>
internal sealed class TrackerMetrics : IDisposable
{
    public const string Name = "Kannon.Tracker";

    private readonly Meter _meter;
    private readonly Counter<long> _hits;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _published;
    private readonly Counter<long> _dropped;

    public TrackerMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(Name);
        _hits = _meter.CreateCounter<long>("kannon.tracker.hits", description: "Opens, clicks and one-click unsubscribes with a valid token");
        _refused = _meter.CreateCounter<long>("kannon.tracker.refused", description: "Requests whose token did not verify (answered 404)");
        _published = _meter.CreateCounter<long>("kannon.tracker.published", description: "Opened and clicked events stored in JetStream");
        _dropped = _meter.CreateCounter<long>("kannon.tracker.dropped", description: "Opened and clicked events lost: the queue was full or the process stopped before NATS took them");
    }

    public void Hit(string type) => _hits.Add(1, new KeyValuePair<string, object?>("type", type));

    public void Refused(string type) => _refused.Add(1, new KeyValuePair<string, object?>("type", type));

    public void Published(int count) => _published.Add(count);

    public void Dropped(int count, string reason) => _dropped.Add(count, new KeyValuePair<string, object?>("reason", reason));

    public void Dispose() => _meter.Dispose();
}
