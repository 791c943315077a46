using Kannon.Data;
using Kannon.Messaging;
using Kannon.Stats;
using Kannon.Suppression;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Npgsql;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Dispatcher;

/// <summary>
/// Applies the Sender's outcomes to the Pool, a batch at a time: delivered and bounced Deliveries leave it;
/// an error reschedules with backoff, or, with the retry budget spent, ends the Delivery as failed (the
/// failed outcome is published before the row goes). A permanent bounce the Sender saw (it carries the dispatch
/// headers; the SMTP server's report bounces do not, they arrive as reports) that condemns the address also
/// suppresses it, in the same pass (ADR 0012).
/// </summary>
internal sealed partial class OutcomeWorker(
    TopologyProvisioner topology,
    INatsJSContext jetStream,
    DispatchPool pool,
    SuppressionList suppressions,
    EventPublisher publisher,
    IOptions<DispatcherOptions> options,
    TimeProvider time,
    ILogger<OutcomeWorker> logger) : BackgroundService
{
    private const int BatchSize = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await topology.EnsureAsync(stoppingToken).ConfigureAwait(false);
        var schedule = RetrySchedule.From(options.Value);
        await BatchConsumer.RunAsync<StatsEvent>(jetStream, Topology.StatsStream, Topology.DispatcherOutcomesConsumer, BatchSize,
            batch => HandleAsync(batch, schedule, stoppingToken), logger, stoppingToken).ConfigureAwait(false);
    }

    private async Task HandleAsync(List<INatsJSMsg<StatsEvent>> batch, RetrySchedule schedule, CancellationToken cancellationToken)
    {
        // The Sender's outcomes name their Delivery and attempt (dispatch headers) and are applied by id; a report's
        // bounce names only the address and Batch.
        var terminalIds = new List<long>();
        var terminal = new List<(string, string)>();
        var errorAttempts = new Dictionary<long, int>();
        var errors = new List<(string, string)>();
        var evidence = new List<SuppressionEvidence>();
        foreach (var message in batch)
        {
            var stat = message.Data!;
            var named = DispatchHeaders.TryRead(message.Headers, out var id, out var attempt);
            switch (Outcomes.TypeOf(stat))
            {
                case StatTypes.Delivered or StatTypes.Bounced:
                    if (named)
                    {
                        terminalIds.Add(id);
                    }
                    else
                    {
                        terminal.Add((stat.Email, stat.MessageId));
                    }

                    if (named && SuppressionRules.FromSenderBounce(stat) is { } entry)
                    {
                        evidence.Add(entry);
                    }

                    break;
                case StatTypes.Error when named:
                    errorAttempts[id] = attempt;
                    break;
                case StatTypes.Error:
                    errors.Add((stat.Email, stat.MessageId));
                    break;
            }
        }

        try
        {
            // Errors first, so a batch's outcomes land in the order they were published: a Delivery with an error and
            // then a terminal outcome in the same batch ends deleted either way.
            if (errorAttempts.Count + errors.Count > 0)
            {
                await RetryOrFailAsync(errorAttempts, errors, schedule, cancellationToken).ConfigureAwait(false);
            }

            await pool.DeleteAsync(terminalIds, cancellationToken).ConfigureAwait(false);
            await pool.DeleteByRecipientAsync(terminal, cancellationToken).ConfigureAwait(false);
            await suppressions.AddAsync(evidence, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or PublishException)
        {
            LogApplyFailed(logger, batch.Count, e.Message);
            await Task.WhenAll(batch.Select(m => m.RetryLaterAsync().AsTask())).ConfigureAwait(false);
            return;
        }

        await Task.WhenAll(batch.Select(m => m.AckAsync(cancellationToken: cancellationToken).AsTask())).ConfigureAwait(false);
    }

    private async Task RetryOrFailAsync(Dictionary<long, int> errorAttempts, List<(string, string)> errors, RetrySchedule schedule, CancellationToken cancellationToken)
    {
        // An error about an older attempt (redelivered late) must not move a Delivery that was dispatched again. A
        // Delivery still dispatching, or put back as scheduled after a lost publish ack, moves when the error names its
        // current attempt: that Envelope was sent. An error naming no attempt moves only a Delivery that is sending.
        var rows = (await pool.FindInFlightAsync(errorAttempts.Keys, cancellationToken).ConfigureAwait(false))
            .Where(r => errorAttempts[r.Id] == r.Attempts)
            .Concat(await pool.FindSendingAsync(errors, cancellationToken).ConfigureAwait(false))
            .DistinctBy(r => r.Id)
            .ToList();
        var retries = new List<(long, int, DateTimeOffset)>();
        var spent = new List<DispatchPool.InFlight>();
        foreach (var row in rows)
        {
            if (schedule.NextAttempt(row.OriginalScheduledTime, row.Attempts) is { } next)
            {
                retries.Add((row.Id, row.Attempts, next));
            }
            else
            {
                spent.Add(row);
            }
        }

        await pool.RescheduleAsync(retries, [DeliveryStatus.Scheduled, DeliveryStatus.Dispatching, DeliveryStatus.Sending], cancellationToken).ConfigureAwait(false);
        await FailAsync(spent, "retry budget exhausted while sending", cancellationToken).ConfigureAwait(false);
    }

    internal async Task FailAsync(IReadOnlyList<DispatchPool.InFlight> deliveries, string reason, CancellationToken cancellationToken)
    {
        if (deliveries.Count == 0)
        {
            return;
        }

        var now = time.GetUtcNow();
        await Task.WhenAll(deliveries.Select(d => publisher.PublishAsync(Subjects.Stats(StatTypes.Failed),
            Outcomes.Failed(d.BatchId, d.Email, d.Domain, now, reason), $"failed:{d.Id}", cancellationToken))).ConfigureAwait(false);
        await pool.DeleteAsync(deliveries.Select(d => d.Id).ToList(), cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not apply {Count} outcomes, redelivering later: {Reason}")]
    private static partial void LogApplyFailed(ILogger logger, int count, string reason);
}
