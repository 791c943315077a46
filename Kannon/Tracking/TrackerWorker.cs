using Kannon.Messaging;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Tracking;

/// <summary>
/// Publishes the Tracker's queued opened/clicked events to JetStream, up to <see cref="MaxInFlight"/> at a
/// time. A failed publish is retried with a growing delay under the same Nats-Msg-Id, so a publish that
/// reached the stream but lost its ack is stored once. At shutdown it keeps publishing for
/// <see cref="DrainTimeout"/>, then counts what is left as lost.
/// </summary>
internal sealed partial class TrackerWorker(
    TopologyProvisioner topology,
    TrackerQueue queue,
    EventPublisher publisher,
    TrackerMetrics metrics,
    ILogger<TrackerWorker> logger) : BackgroundService
{
    private const int MaxInFlight = 256;
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MinRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    // Cancelled DrainTimeout after the host asks us to stop: until then queued events still go out.
    private readonly CancellationTokenSource _abort = new();

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        _abort.CancelAfter(DrainTimeout);
        return base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _abort.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var left = new List<TrackerEvent>();
        try
        {
            await topology.EnsureAsync(stoppingToken).ConfigureAwait(false);
            while (await queue.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                left = await PublishAsync(Take(left), _abort.Token).ConfigureAwait(false);
                if (_abort.IsCancellationRequested)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // Stopping: publish what is queued while the drain time lasts.
        while (!_abort.IsCancellationRequested && (left.Count > 0 || queue.Count > 0))
        {
            left = await PublishAsync(Take(left), _abort.Token).ConfigureAwait(false);
        }

        var lost = left.Count + queue.Count;
        if (lost > 0)
        {
            metrics.Dropped(lost, "shutdown");
            LogLostAtShutdown(logger, lost);
        }
    }

    /// <summary>The events not yet published plus as many queued ones as fit in one round.</summary>
    private List<TrackerEvent> Take(List<TrackerEvent> batch)
    {
        while (batch.Count < MaxInFlight && queue.Reader.TryRead(out var item))
        {
            batch.Add(item);
        }

        return batch;
    }

    /// <summary>Publishes every event of <paramref name="batch"/>, retrying failures; returns those still unpublished when aborted.</summary>
    private async Task<List<TrackerEvent>> PublishAsync(List<TrackerEvent> batch, CancellationToken abort)
    {
        var delay = MinRetryDelay;
        while (batch.Count > 0)
        {
            var failures = await Task.WhenAll(batch.Select(e => TryPublishAsync(e, abort))).ConfigureAwait(false);
            var failed = new List<TrackerEvent>();
            string? reason = null;
            for (var i = 0; i < batch.Count; i++)
            {
                if (failures[i] is not null)
                {
                    failed.Add(batch[i]);
                    reason ??= failures[i];
                }
            }

            metrics.Published(batch.Count - failed.Count);
            batch = failed;
            if (batch.Count == 0 || abort.IsCancellationRequested)
            {
                break;
            }

            LogPublishFailed(logger, batch.Count, queue.Count, delay, reason!);
            try
            {
                await Task.Delay(delay, abort).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
        }

        return batch;
    }

    /// <summary>Null when stored; otherwise why not.</summary>
    private async Task<string?> TryPublishAsync(TrackerEvent item, CancellationToken abort)
    {
        try
        {
            await publisher.PublishAsync<StatsEvent>(item.Subject, item.Stat, item.MessageId, abort).ConfigureAwait(false);
            return null;
        }
        catch (PublishException e)
        {
            return e.Message;
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            return "stopping";
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing {Count} tracker events failed ({Queued} more queued), retrying in {Delay}: {Reason}")]
    private static partial void LogPublishFailed(ILogger logger, int count, int queued, TimeSpan delay, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopped with {Count} opened/clicked events not yet published to NATS; they are lost")]
    private static partial void LogLostAtShutdown(ILogger logger, int count);
}
