using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Kannon.Sender;

/// <summary>The Sender's traces and metrics, both named <c>Kannon.Sender</c>.</summary>
internal sealed class SenderMetrics : IDisposable
{
    public const string Name = "Kannon.Sender";

    public static readonly ActivitySource Tracing = new(Name);

    private readonly Meter _meter;
    private readonly Counter<long> _outcomes;
    private readonly Counter<long> _connections;
    private readonly Histogram<double> _duration;

    public SenderMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(Name);
        _outcomes = _meter.CreateCounter<long>("kannon.sender.outcomes", description: "Envelopes handled, by outcome type");
        _connections = _meter.CreateCounter<long>("kannon.sender.smtp.connections", description: "SMTP connections opened");
        _duration = _meter.CreateHistogram<double>("kannon.sender.smtp.duration", unit: "s", description: "Time to deliver one Envelope, MX lookup included");
    }

    public void Outcome(string type) => _outcomes.Add(1, new KeyValuePair<string, object?>("type", type));

    public void ConnectionOpened(string host, bool secure) =>
        _connections.Add(1, new KeyValuePair<string, object?>("tls", secure));

    /// <summary>One SMTP transaction's time and result, by destination domain and reply class (2xx, 4xx, 5xx, or none when no server answered).</summary>
    public void Delivery(TimeSpan elapsed, string type, string destinationDomain, uint code) =>
        _duration.Record(elapsed.TotalSeconds,
            new KeyValuePair<string, object?>("type", type),
            new KeyValuePair<string, object?>("destination", destinationDomain),
            new KeyValuePair<string, object?>("reply_class", code is >= 200 and < 600 ? $"{code / 100}xx" : "none"));

    public void Dispose() => _meter.Dispose();
}
