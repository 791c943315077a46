using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Tracking;

/// <summary>
/// Opened and clicked events between the HTTP response and JetStream. A hit never waits on NATS: it is
/// put here and answered at once; <see cref="TrackerWorker"/> publishes in the background. The queue is
/// bounded (<see cref="Capacity"/>): when NATS has been away long enough to fill it, the newest hits are
/// dropped, counted (<c>kannon.tracker.dropped</c>) and logged, and the pixel and redirect are still served.
/// Tracking is therefore at most once by design: a hit can be lost (full queue, process killed before
/// NATS took it), never recorded twice (each event carries its own Nats-Msg-Id across retries).
/// </summary>
internal sealed partial class TrackerQueue(TrackerMetrics metrics, TimeProvider time, ILogger<TrackerQueue> logger)
{
    public const int Capacity = 100_000;

    private static readonly TimeSpan DropLogInterval = TimeSpan.FromSeconds(10);

    private readonly Channel<TrackerEvent> _channel = Channel.CreateBounded<TrackerEvent>(new BoundedChannelOptions(Capacity)
    {
        // With Wait, TryWrite refuses when full: the newest hit is the one dropped, and we know it.
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
        SingleWriter = false,
    });

    private long _droppedSinceLog;
    private long _nextDropLogTicks;

    public ChannelReader<TrackerEvent> Reader => _channel.Reader;

    public int Count => _channel.Reader.Count;

    /// <summary>Queues an event for publishing; false (counted and logged) when the queue is full.</summary>
    public bool TryEnqueue(TrackerEvent item)
    {
        if (_channel.Writer.TryWrite(item))
        {
            return true;
        }

        metrics.Dropped(1, "queue_full");
        Interlocked.Increment(ref _droppedSinceLog);
        var now = time.GetUtcNow().UtcTicks;
        var next = Interlocked.Read(ref _nextDropLogTicks);
        if (now >= next && Interlocked.CompareExchange(ref _nextDropLogTicks, now + DropLogInterval.Ticks, next) == next)
        {
            LogQueueFull(logger, Capacity, Interlocked.Exchange(ref _droppedSinceLog, 0));
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tracker queue full ({Capacity} events waiting for NATS): dropped {Dropped} opened/clicked events since the last warning")]
    private static partial void LogQueueFull(ILogger logger, int capacity, long dropped);
}

/// <summary>One opened or clicked event, with the Nats-Msg-Id it keeps across publish retries.</summary>
internal sealed record TrackerEvent(string Subject, StatsEvent Stat, string MessageId);
