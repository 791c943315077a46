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
        var terminal = new List<(string, string)>();
        var errors = new List<(string, string)>();
        var attempts = new Dictionary<(string, string), (long Id, int Attempt)>();
        var handled = new List<INatsJSMsg<StatsEvent>>(batch.Count);
        var evidence = new List<SuppressionEvidence>();
        foreach (var message in batch)
        {
            var stat = message.Data!;
            switch (Outcomes.TypeOf(stat))
            {
                case StatTypes.Delivered:
                    terminal.Add((stat.Email, stat.MessageId));
                    break;
                case StatTypes.Bounced:
                    terminal.Add((stat.Email, stat.MessageId));
                    if (DispatchHeaders.TryRead(message.Headers, out _, out _) && SuppressionRules.FromSenderBounce(stat) is { } entry)
                    {
                        evidence.Add(entry);
                    }

                    break;
                case StatTypes.Error:
                    errors.Add((stat.Email, stat.MessageId));
                    if (DispatchHeaders.TryRead(message.Headers, out var id, out var attempt))
                    {
                        attempts[(stat.Email, stat.MessageId)] = (id, attempt);
                    }

                    break;
            }

            handled.Add(message);
        }

        try
        {
            await pool.DeleteByRecipientAsync(terminal, cancellationToken).ConfigureAwait(false);
            await suppressions.AddAsync(evidence, cancellationToken).ConfigureAwait(false);
            if (errors.Count > 0)
            {
                await RetryOrFailAsync(errors, attempts, schedule, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or PublishException)
        {
            LogApplyFailed(logger, handled.Count, e.Message);
            await Task.WhenAll(handled.Select(m => m.RetryLaterAsync().AsTask())).ConfigureAwait(false);
            return;
        }

        await Task.WhenAll(handled.Select(m => m.AckAsync(cancellationToken: cancellationToken).AsTask())).ConfigureAwait(false);
    }

    private async Task RetryOrFailAsync(List<(string, string)> errors, Dictionary<(string, string), (long Id, int Attempt)> attempts, RetrySchedule schedule, CancellationToken cancellationToken)
    {
        // An error about an older attempt (redelivered late) must not move a Delivery that was dispatched again. A
        // Delivery still dispatching moves only for an error that names its current attempt: that Envelope was sent.
        var rows = (await pool.FindSendingAsync(errors, cancellationToken).ConfigureAwait(false))
            .Where(r => attempts.TryGetValue((r.Email, r.BatchId), out var a)
                ? a.Id == r.Id && a.Attempt == r.Attempts
                : r.Status == DeliveryStatus.Sending)
            .ToList();
        var retries = new List<(long, DateTimeOffset)>();
        var spent = new List<DispatchPool.InFlight>();
        foreach (var row in rows)
        {
            if (schedule.NextAttempt(row.OriginalScheduledTime, row.Attempts) is { } next)
            {
                retries.Add((row.Id, next));
            }
            else
            {
                spent.Add(row);
            }
        }

        await pool.RescheduleAsync(retries, [DeliveryStatus.Dispatching, DeliveryStatus.Sending], cancellationToken).ConfigureAwait(false);
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
