using System.Diagnostics;
using Kannon.Data;
using Kannon.Messaging;
using Kannon.Pool;
using Kannon.Protos.Mailer.Types;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using Npgsql;

namespace Kannon.Dispatcher;

/// <summary>
/// Claims due Deliveries a batch at a time, builds their Envelopes in parallel, publishes them with
/// pipelined acks (Nats-Msg-Id = Delivery and attempt), and only then marks them sending. A Delivery
/// whose Envelope cannot be built or stored is rescheduled (or failed when its budget is spent), never stranded.
/// </summary>
internal sealed partial class DispatcherWorker(
    TopologyProvisioner topology,
    DispatchPool pool,
    BatchContentCache batches,
    EnvelopeAssembler assembler,
    Tracking.TrackingKeyRing trackingKeys,
    EventPublisher publisher,
    OutcomeWorker outcomes,
    PoolSignal signal,
    IOptions<DispatcherOptions> options,
    TimeProvider time,
    ILogger<DispatcherWorker> logger) : BackgroundService
{
    public static readonly ActivitySource Tracing = new("Kannon.Dispatcher");

    // Envelopes built before they are published: enough to keep both cores busy building, few enough (about 1 MB of
    // signed messages) that they die young instead of being promoted and collected in generation 2.
    private const int BuildSlice = 64;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await topology.EnsureAsync(stoppingToken).ConfigureAwait(false);
        var settings = options.Value;
        var schedule = RetrySchedule.From(settings);

        // Several loops, so one builds Envelopes while another waits on PostgreSQL or JetStream; SKIP LOCKED keeps
        // their claims apart. Only the first reclaims.
        await Task.WhenAll(Enumerable.Range(0, settings.Concurrency)
            .Select(loop => Task.Run(() => DispatchLoopAsync(settings, schedule, reclaims: loop == 0, stoppingToken), CancellationToken.None)))
            .ConfigureAwait(false);
    }

    private async Task DispatchLoopAsync(DispatcherOptions settings, RetrySchedule schedule, bool reclaims, CancellationToken stoppingToken)
    {
        var nextReclaim = reclaims ? DateTime.MinValue : DateTime.MaxValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (DateTime.UtcNow >= nextReclaim)
                {
                    await ReclaimAsync(settings, stoppingToken).ConfigureAwait(false);
                    nextReclaim = DateTime.UtcNow + TimeSpan.FromTicks(Math.Max(settings.DispatchingTimeout.Ticks / 4, TimeSpan.FromSeconds(1).Ticks));
                }

                var ticket = signal.Ticket();
                var claimed = await pool.ClaimDueAsync(settings.BatchSize, stoppingToken).ConfigureAwait(false);
                if (claimed.Count == 0)
                {
                    await signal.WaitAsync(ticket, settings.PollInterval, stoppingToken).ConfigureAwait(false);
                    continue;
                }

                if (!await DispatchAsync(claimed, schedule, stoppingToken).ConfigureAwait(false))
                {
                    // JetStream refused or did not answer: the same Envelopes would fail again at once.
                    await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or PublishException or NatsException)
            {
                LogCycleFailed(logger, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task ReclaimAsync(DispatcherOptions settings, CancellationToken cancellationToken)
    {
        var dispatching = await pool.ReclaimDispatchingAsync(settings.DispatchingTimeout, cancellationToken).ConfigureAwait(false);
        var sending = await pool.ReclaimSendingAsync(settings.SendingTimeout, cancellationToken).ConfigureAwait(false);
        if (dispatching + sending > 0)
        {
            LogReclaimed(logger, dispatching, sending);
        }
    }

    /// <summary>False when some publishes failed (their Deliveries wait for another try).</summary>
    private async Task<bool> DispatchAsync(List<DispatchPool.Claimed> claimed, RetrySchedule schedule, CancellationToken cancellationToken)
    {
        if (claimed.Any(c => c.Suppressed))
        {
            await EndSuppressedAsync(claimed.Where(c => c.Suppressed).ToList(), cancellationToken).ConfigureAwait(false);
            claimed = claimed.Where(c => !c.Suppressed).ToList();
            if (claimed.Count == 0)
            {
                return true;
            }
        }

        await trackingKeys.EnsureSigningKeyAsync(cancellationToken).ConfigureAwait(false);
        var contents = await batches.GetAsync(claimed.Select(c => c.BatchId), cancellationToken).ConfigureAwait(false);
        var envelopes = new EmailToSend?[claimed.Count];
        var buildErrors = new string?[claimed.Count];
        var traceParents = new string?[claimed.Count];
        var publishes = new Task?[claimed.Count];

        // Built and handed to NATS a slice at a time: an Envelope is garbage once its publish has serialized it, so no
        // more than a slice of them (not the whole claim) lives through a garbage collection.
        for (var start = 0; start < claimed.Count; start += BuildSlice)
        {
            // No more than two slices await their acks: their request state, like the Validator's (ADR 0026), otherwise
            // waited long enough behind a whole claim's to be promoted into gen2. Failures are sorted out below.
            for (var i = Math.Max(0, start - (2 * BuildSlice)); i < start - BuildSlice; i++)
            {
                if (publishes[i] is { } earlier)
                {
                    await earlier.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }

            var end = Math.Min(claimed.Count, start + BuildSlice);
            Parallel.For(start, end, new ParallelOptions { CancellationToken = cancellationToken }, Build);
            for (var i = start; i < end; i++)
            {
                if (envelopes[i] is { } envelope)
                {
                    publishes[i] = publisher.PublishAsync(Subjects.Sending, envelope, $"env:{claimed[i].Id}:{claimed[i].Attempts}", cancellationToken,
                        DispatchHeaders.Create(claimed[i].Id, claimed[i].Attempts, traceParents[i]));
                    envelopes[i] = null;
                }
            }
        }

        void Build(int i)
        {
            var delivery = claimed[i];
            if (contents.GetValueOrDefault(delivery.BatchId) is not { } content)
            {
                buildErrors[i] = "batch, template or DKIM key not found";
                return;
            }

            var parent = content.TraceParent is { } traceParent && ActivityContext.TryParse(traceParent, null, out var context) ? context : default;
            using var activity = Tracing.StartActivity("kannon.dispatcher.envelope", ActivityKind.Producer, parent);
            activity?.SetTag("kannon.delivery.id", delivery.Id);
            activity?.SetTag("kannon.batch.id", delivery.BatchId);
            traceParents[i] = activity?.Id ?? content.TraceParent;
            try
            {
                var envelope = assembler.Build(delivery, content);
                envelope.ShouldRetry = schedule.CanRetry(delivery.OriginalScheduledTime, delivery.Attempts);
                envelopes[i] = envelope;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                buildErrors[i] = e.Message;
            }
        }

        var sent = new List<long>(claimed.Count);
        var failed = new List<(DispatchPool.Claimed Delivery, string Reason)>();
        var unsure = new List<(DispatchPool.Claimed Delivery, string Reason)>();
        for (var i = 0; i < claimed.Count; i++)
        {
            if (publishes[i] is null)
            {
                failed.Add((claimed[i], buildErrors[i] ?? "not built"));
                continue;
            }

            try
            {
                await publishes[i]!.ConfigureAwait(false);
                sent.Add(claimed[i].Id);
            }
            catch (PublishException e)
            {
                // Maybe stored after all (the ack was lost in a NATS restart): not a new attempt, so the retry has the
                // same Nats-Msg-Id and JetStream drops it if the first one landed. A new attempt would be a second mail.
                unsure.Add((claimed[i], e.Message));
            }
        }

        await pool.MarkSendingAsync(sent, cancellationToken).ConfigureAwait(false);
        if (failed.Count > 0)
        {
            LogDispatchFailed(logger, failed.Count, failed[0].Reason);
            await RetryOrFailAsync(failed.Select(f => f.Delivery).ToList(), schedule, cancellationToken).ConfigureAwait(false);
        }

        if (unsure.Count > 0)
        {
            LogPublishFailed(logger, unsure.Count, unsure[0].Reason);
            await RepublishLaterAsync(unsure.Select(f => f.Delivery).ToList(), schedule, cancellationToken).ConfigureAwait(false);
        }

        return unsure.Count == 0;
    }

    /// <summary>Back to scheduled with the same attempt and place in the queue; failed once the retry budget is spent.</summary>
    private async Task RepublishLaterAsync(List<DispatchPool.Claimed> deliveries, RetrySchedule schedule, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var spent = deliveries.Where(d => schedule.IsSpent(d.OriginalScheduledTime, now)).ToList();
        await pool.ReleaseAsync(deliveries.Where(d => !schedule.IsSpent(d.OriginalScheduledTime, now)).Select(d => d.Id).ToList(), cancellationToken).ConfigureAwait(false);
        await outcomes.FailAsync(spent.Select(d => new DispatchPool.InFlight(d.Id, d.Email, d.BatchId, d.Domain, d.Attempts, d.OriginalScheduledTime)).ToList(),
            "retry budget exhausted while dispatching", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Deliveries whose address their Domain suppressed after intake end as rejected (<c>suppressed</c>), their one
    /// terminal outcome: published first with an id fixed by the Delivery, then the rows go.
    /// </summary>
    private async Task EndSuppressedAsync(List<DispatchPool.Claimed> suppressed, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await Task.WhenAll(suppressed.Select(d => publisher.PublishAsync(Subjects.Stats(Stats.StatTypes.Rejected),
            Stats.Outcomes.Rejected(d.BatchId, d.Email, d.Domain, now, Suppression.SuppressionList.RejectionReason), $"rejected:{d.Id}", cancellationToken))).ConfigureAwait(false);
        await pool.DeleteAsync(suppressed.Select(d => d.Id).ToList(), cancellationToken).ConfigureAwait(false);
        LogSuppressed(logger, suppressed.Count);
    }

    private async Task RetryOrFailAsync(List<DispatchPool.Claimed> deliveries, RetrySchedule schedule, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var retries = new List<(long, int, DateTimeOffset)>();
        var spent = new List<DispatchPool.InFlight>();
        foreach (var d in deliveries)
        {
            if (schedule.NextAttempt(d.OriginalScheduledTime, d.Attempts) is { } next)
            {
                retries.Add((d.Id, d.Attempts, next > now ? next : now + schedule.Min));
            }
            else
            {
                spent.Add(new DispatchPool.InFlight(d.Id, d.Email, d.BatchId, d.Domain, d.Attempts, d.OriginalScheduledTime));
            }
        }

        await pool.RescheduleAsync(retries, [DeliveryStatus.Dispatching], cancellationToken).ConfigureAwait(false);
        await outcomes.FailAsync(spent, "retry budget exhausted while dispatching", cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dispatcher cycle failed, retrying: {Reason}")]
    private static partial void LogCycleFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} Deliveries could not be dispatched and were rescheduled (first reason: {Reason})")]
    private static partial void LogDispatchFailed(ILogger logger, int count, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} due Deliveries ended as rejected: their address is suppressed")]
    private static partial void LogSuppressed(ILogger logger, int count);
    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} Envelopes were not acked by JetStream and will be published again under the same id (first reason: {Reason})")]
    private static partial void LogPublishFailed(ILogger logger, int count, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reclaimed {Dispatching} dispatching and {Sending} sending Deliveries")]
    private static partial void LogReclaimed(ILogger logger, int dispatching, int sending);
}
