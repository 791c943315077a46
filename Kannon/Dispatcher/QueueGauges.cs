using System.Diagnostics.Metrics;
using Kannon.Messaging;
using Microsoft.Extensions.Hosting;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Npgsql;

namespace Kannon.Dispatcher;

/// <summary>
/// Pool depth by status and stream lag per durable consumer, read every few seconds by the Dispatcher role
/// (it has both stores) and exported as gauges of the <c>Kannon.Dispatcher</c> meter.
/// </summary>
internal sealed class QueueGauges : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private readonly NpgsqlDataSource _dataSource;
    private readonly INatsJSContext _jetStream;
    private readonly Meter _meter;
    private volatile IReadOnlyList<Measurement<long>> _pool = [];
    private volatile IReadOnlyList<Measurement<long>> _lag = [];

    private readonly TopologyProvisioner _topology;

    public QueueGauges(NpgsqlDataSource dataSource, INatsJSContext jetStream, TopologyProvisioner topology, IMeterFactory meters)
    {
        _topology = topology;
        _dataSource = dataSource;
        _jetStream = jetStream;
        _meter = meters.Create("Kannon.Dispatcher");
        _meter.CreateObservableGauge("kannon.pool.deliveries", () => _pool, description: "Deliveries in the Pool, by status");
        _meter.CreateObservableGauge("kannon.stream.lag", () => _lag, description: "Messages a durable consumer has not yet acknowledged (pending + in flight)");
    }

    public override void Dispose()
    {
        _meter.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await _topology.EnsureAsync(stoppingToken).ConfigureAwait(false);
        using var timer = new PeriodicTimer(Interval);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                _pool = await PoolAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                _pool = [];
            }

            try
            {
                _lag = await LagAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsException or TimeoutException)
            {
                _lag = [];
            }

            try
            {
                await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<IReadOnlyList<Measurement<long>>> PoolAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("SELECT status, count(*) FROM sending_pool_emails GROUP BY status");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        // Every status, zeros included, so an empty Pool reads 0 rather than nothing.
        var counts = new Dictionary<string, long>
        {
            [Data.DeliveryStatus.ToValidate] = 0,
            [Data.DeliveryStatus.Validating] = 0,
            [Data.DeliveryStatus.Scheduled] = 0,
            [Data.DeliveryStatus.Dispatching] = 0,
            [Data.DeliveryStatus.Sending] = 0,
        };
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }

        return counts.Select(c => new Measurement<long>(c.Value, new KeyValuePair<string, object?>("status", c.Key))).ToList();
    }

    private async Task<IReadOnlyList<Measurement<long>>> LagAsync(CancellationToken cancellationToken)
    {
        var lag = new List<Measurement<long>>();
        foreach (var (stream, config) in Topology.Consumers)
        {
            var consumer = await _jetStream.GetConsumerAsync(stream, config.Name!, cancellationToken).ConfigureAwait(false);
            var info = consumer.Info;
            lag.Add(new Measurement<long>((long)info.NumPending + info.NumAckPending, new KeyValuePair<string, object?>("consumer", config.Name)));
        }

        return lag;
    }
}
