using Kannon.Messaging;
using Kannon.Pool;
using Kannon.Stats;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Kannon.Validator;

/// <summary>
/// Locks to_validate Deliveries in batches, checks each address (syntax, and that its Domain does not suppress
/// it: reason <c>suppressed</c>), publishes accepted / rejected, then schedules the valid ones and removes the
/// invalid ones in the same transaction. Outcomes are published before the Pool changes, with ids fixed by the
/// Delivery, so a crash in between republishes the same events (deduplicated).
/// </summary>
internal sealed partial class ValidatorWorker(
    TopologyProvisioner topology,
    ValidationPool pool,
    PoolSignal signal,
    EventPublisher publisher,
    IOptions<ValidatorOptions> options,
    ILogger<ValidatorWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await topology.EnsureAsync(stoppingToken).ConfigureAwait(false);
        var settings = options.Value;
        var nextReclaim = DateTime.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (DateTime.UtcNow >= nextReclaim)
                {
                    var reclaimed = await pool.ReclaimStaleAsync(settings.ClaimTimeout, stoppingToken).ConfigureAwait(false);
                    if (reclaimed > 0)
                    {
                        LogReclaimed(logger, reclaimed);
                    }

                    nextReclaim = DateTime.UtcNow + TimeSpan.FromTicks(Math.Max(settings.ClaimTimeout.Ticks / 4, TimeSpan.FromSeconds(1).Ticks));
                }

                var ticket = signal.Ticket();
                var settled = await pool.ValidateBatchAsync(settings.BatchSize, settings.ClaimTimeout, claimed => JudgeAsync(claimed, stoppingToken), stoppingToken).ConfigureAwait(false);
                if (settled == 0)
                {
                    await signal.WaitAsync(ticket, settings.PollInterval, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or PublishException)
            {
                LogCycleFailed(logger, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private const int PublishWindow = 128;

    /// <summary>Decides each locked Delivery and publishes its outcome; the Pool changes only after every outcome is stored.</summary>
    private async Task<ValidationPool.Verdict> JudgeAsync(List<ValidationPool.Claimed> claimed, CancellationToken cancellationToken)
    {
        var valid = new List<long>(claimed.Count);
        var invalid = new List<long>();
        var publishes = new List<Task>(claimed.Count);
        foreach (var delivery in claimed)
        {
            // A window of publishes awaiting their ack, not the whole batch: a thousand at once waited behind each other
            // long enough for each one's request state (~2 KB) to be promoted, then die, in gen2 (ADR 0026).
            if (publishes.Count >= PublishWindow)
            {
                await publishes[^PublishWindow].ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            // The event's time is the Delivery's creation: fixed, so a republished event is the same event.
            if (delivery.Suppressed)
            {
                invalid.Add(delivery.Id);
                var stat = Outcomes.Rejected(delivery.BatchId, delivery.Email, delivery.Domain, delivery.CreatedAt, Suppression.SuppressionList.RejectionReason);
                publishes.Add(publisher.PublishAsync(Subjects.Stats(StatTypes.Rejected), stat, $"rejected:{delivery.Id}", cancellationToken));
            }
            else if (EmailAddressRules.IsValid(delivery.Email, out var reason))
            {
                valid.Add(delivery.Id);
                var stat = Outcomes.Accepted(delivery.BatchId, delivery.Email, delivery.Domain, delivery.CreatedAt);
                publishes.Add(publisher.PublishAsync(Subjects.Stats(StatTypes.Accepted), stat, $"accepted:{delivery.Id}", cancellationToken));
            }
            else
            {
                invalid.Add(delivery.Id);
                var stat = Outcomes.Rejected(delivery.BatchId, delivery.Email, delivery.Domain, delivery.CreatedAt, $"invalid_email: {reason}");
                publishes.Add(publisher.PublishAsync(Subjects.Stats(StatTypes.Rejected), stat, $"rejected:{delivery.Id}", cancellationToken));
            }
        }

        // A PublishException ends the transaction unchanged: the batch is tried again later, under the same ids.
        await Task.WhenAll(publishes).ConfigureAwait(false);
        return new ValidationPool.Verdict(valid, invalid);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Validator cycle failed, retrying: {Reason}")]
    private static partial void LogCycleFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reclaimed {Count} stranded validating Deliveries")]
    private static partial void LogReclaimed(ILogger logger, int count);
}
