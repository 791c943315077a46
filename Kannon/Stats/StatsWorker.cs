using Kannon.Messaging;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Npgsql;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Stats;

/// <summary>
/// Records every outcome of <c>kannon.stats.*</c> (durable <c>kannon-stats-logs</c>) as a <c>stats</c> row and
/// in the hourly <c>aggregated_stats</c>, a fetched batch at a time. Redelivery is harmless: a row already
/// stored is not stored or counted again. Events that can never be stored are terminated; a database that
/// fails hands the batch back to JetStream for later, with a growing delay.
/// </summary>
internal sealed partial class StatsWorker(
    TopologyProvisioner topology,
    INatsJSContext jetStream,
    StatsRecorder recorder,
    StatsMetrics metrics,
    TimeProvider time,
    ILogger<StatsWorker> logger) : BackgroundService
{
    public const int BatchSize = 1000;

    private static readonly TimeSpan FetchExpires = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan MaxPause = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await topology.EnsureAsync(stoppingToken).ConfigureAwait(false);
        var pause = TimeSpan.Zero;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var consumer = await jetStream.GetConsumerAsync(Topology.StatsStream, Topology.StatsConsumer, stoppingToken).ConfigureAwait(false);
                while (!stoppingToken.IsCancellationRequested)
                {
                    var batch = new List<INatsJSMsg<StatsEvent>>(BatchSize);
                    await foreach (var message in consumer.FetchAsync(new NatsJSFetchOpts { MaxMsgs = BatchSize, Expires = FetchExpires },
                        ProtobufSerializer<StatsEvent>.Default, stoppingToken).ConfigureAwait(false))
                    {
                        batch.Add(message);
                    }

                    if (batch.Count == 0)
                    {
                        continue;
                    }

                    // A started batch is finished even while stopping: acks sent, nothing left to time out.
                    var stored = await HandleAsync(batch, CancellationToken.None).ConfigureAwait(false);
                    pause = stored ? TimeSpan.Zero : Grow(pause);
                    if (pause > TimeSpan.Zero)
                    {
                        // The database failed: do not pull the next batch into the same failure at once.
                        await Task.Delay(pause, time, stoppingToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NatsException or TimeoutException)
            {
                LogConsumeFailed(logger, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>Stores one fetched batch and answers every message of it. False when the database failed.</summary>
    internal async Task<bool> HandleAsync(IReadOnlyList<INatsJSMsg<StatsEvent>> batch, CancellationToken cancellationToken)
    {
        // Exact duplicates inside the batch (a publisher's retry, a redelivery) become one row; each message is answered.
        var events = new Dictionary<(string, string, string, DateTimeOffset), (StatEvent Row, List<INatsJSMsg<StatsEvent>> Messages)>();
        var terminated = new List<Task>();
        foreach (var message in batch)
        {
            if (Decode(message, out var problem) is not { } row)
            {
                LogTerminated(logger, message.Subject, problem!);
                terminated.Add(TerminateAsync(message, problem!));
                continue;
            }

            var key = (row.Type, row.MessageId, row.Email, row.Timestamp);
            if (events.TryGetValue(key, out var known))
            {
                known.Messages.Add(message);
            }
            else
            {
                events[key] = (row, [message]);
            }
        }

        await Task.WhenAll(terminated).ConfigureAwait(false);
        if (events.Count == 0)
        {
            return true;
        }

        try
        {
            var inserted = await recorder.RecordAsync(events.Values.Select(e => e.Row).ToList(), cancellationToken).ConfigureAwait(false);
            metrics.Recorded(inserted, events.Count - inserted + events.Values.Sum(e => e.Messages.Count - 1));
        }
        catch (PostgresException e) when (IsBadData(e))
        {
            // One event the database refuses fails the whole statement: find it alone, keep the rest.
            LogBatchRefused(logger, events.Count, e.SqlState, e.MessageText);
            return await RecordOneByOneAsync(events.Values.ToList(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            LogStoreFailed(logger, events.Count, e.Message);
            await RetryLaterAsync(events.Values.SelectMany(e => e.Messages)).ConfigureAwait(false);
            return false;
        }

        await AckAsync(events.Values.SelectMany(e => e.Messages), cancellationToken).ConfigureAwait(false);
        return true;
    }

    private StatEvent? Decode(INatsJSMsg<StatsEvent> message, out string? problem)
    {
        if (message.Error is not null || message.Data is null)
        {
            problem = $"undecodable Stats payload: {message.Error?.InnerException?.Message ?? message.Error?.Message ?? "empty payload"}";
            return null;
        }

        var storedAt = message.Metadata?.Timestamp ?? time.GetUtcNow();
        return StatsMapping.ToRow(message.Data, storedAt, out problem);
    }

    private async Task<bool> RecordOneByOneAsync(List<(StatEvent Row, List<INatsJSMsg<StatsEvent>> Messages)> events, CancellationToken cancellationToken)
    {
        var ok = true;
        foreach (var (row, messages) in events)
        {
            try
            {
                var inserted = await recorder.RecordAsync([row], cancellationToken).ConfigureAwait(false);
                metrics.Recorded(inserted, messages.Count - inserted);
                await AckAsync(messages, cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException e) when (IsBadData(e))
            {
                var reason = $"refused by the database: {e.SqlState} {e.MessageText}";
                LogTerminated(logger, messages[0].Subject, reason);
                await Task.WhenAll(messages.Select(m => TerminateAsync(m, reason))).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                LogStoreFailed(logger, 1, e.Message);
                await RetryLaterAsync(messages).ConfigureAwait(false);
                ok = false;
            }
        }

        return ok;
    }

    /// <summary>Class 22 (data exception: value too long, bad encoding, bad JSON): the data, not the database, is at fault.</summary>
    private static bool IsBadData(PostgresException e) => e.SqlState.StartsWith("22", StringComparison.Ordinal);

    private Task TerminateAsync(INatsJSMsg<StatsEvent> message, string reason)
    {
        metrics.Terminated();
        return AnswerQuietlyAsync(message.GiveUpAsync(reason));
    }

    private static async Task AckAsync(IEnumerable<INatsJSMsg<StatsEvent>> messages, CancellationToken cancellationToken) =>
        await Task.WhenAll(messages.Select(m => AnswerQuietlyAsync(m.AckAsync(cancellationToken: cancellationToken)))).ConfigureAwait(false);

    /// <summary>Later, and later again the more often it came back: a database outage of hours loses nothing before MaxDeliver.</summary>
    private static async Task RetryLaterAsync(IEnumerable<INatsJSMsg<StatsEvent>> messages) =>
        await Task.WhenAll(messages.Select(m =>
        {
            var deliveries = (int)Math.Clamp(m.Metadata?.NumDelivered ?? 1, 1, 16);
            var delay = TimeSpan.FromTicks(Math.Min(Acks.RetryDelay.Ticks << (deliveries - 1), MaxRetryDelay.Ticks));
            return AnswerQuietlyAsync(m.RetryLaterAsync(delay));
        })).ConfigureAwait(false);

    /// <summary>An answer that does not reach NATS only means a redelivery, which stores nothing twice.</summary>
    private static async Task AnswerQuietlyAsync(ValueTask answer)
    {
        try
        {
            await answer.ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or TimeoutException or OperationCanceledException)
        {
        }
    }

    private static TimeSpan Grow(TimeSpan pause) =>
        pause == TimeSpan.Zero ? TimeSpan.FromSeconds(1) : TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, MaxPause.Ticks));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stats consumer failed, reconnecting: {Reason}")]
    private static partial void LogConsumeFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Stats event on {Subject} terminated: {Reason}")]
    private static partial void LogTerminated(ILogger logger, string subject, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not store {Count} stats events, redelivering later: {Reason}")]
    private static partial void LogStoreFailed(ILogger logger, int count, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The database refused a batch of {Count} stats events ({SqlState} {Reason}); storing them one by one")]
    private static partial void LogBatchRefused(ILogger logger, int count, string sqlState, string reason);
}
