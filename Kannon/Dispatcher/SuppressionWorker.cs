using Kannon.Messaging;
using Kannon.Suppression;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Npgsql;
using Bounce = Kannon.Protos.Bounce.Types.Bounce;

namespace Kannon.Dispatcher;

/// <summary>
/// The suppression list's writer for reports (ADR 0012): consumes <c>kannon.bounce</c> (durable
/// <c>dispatcher-bounce</c>) a batch at a time and suppresses what <see cref="SuppressionRules.FromReport"/> says
/// condemns an address. Insertion is idempotent, so a redelivered batch changes nothing. The Deliveries still
/// pending for a suppressed address end at their next claim (<see cref="DispatchPool.ClaimDueAsync"/>).
/// </summary>
internal sealed partial class SuppressionWorker(
    TopologyProvisioner topology,
    INatsJSContext jetStream,
    SuppressionList suppressions,
    ILogger<SuppressionWorker> logger) : BackgroundService
{
    private const int BatchSize = 200;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await topology.EnsureAsync(stoppingToken).ConfigureAwait(false);
        await BatchConsumer.RunAsync<Bounce>(jetStream, Topology.BounceStream, Topology.DispatcherBounceConsumer, BatchSize,
            batch => HandleAsync(batch, stoppingToken), logger, stoppingToken).ConfigureAwait(false);
    }

    private async Task HandleAsync(List<INatsJSMsg<Bounce>> batch, CancellationToken cancellationToken)
    {
        var evidence = new List<SuppressionEvidence>();
        var handled = new List<INatsJSMsg<Bounce>>(batch.Count);
        foreach (var message in batch)
        {
            if (SuppressionRules.FromReport(message.Data!) is { } entry)
            {
                evidence.Add(entry);
            }

            handled.Add(message);
        }

        try
        {
            var added = await suppressions.AddAsync(evidence, cancellationToken).ConfigureAwait(false);
            if (added > 0)
            {
                LogSuppressed(logger, added);
            }
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            LogApplyFailed(logger, handled.Count, e.Message);
            await Task.WhenAll(handled.Select(m => m.RetryLaterAsync().AsTask())).ConfigureAwait(false);
            return;
        }

        await Task.WhenAll(handled.Select(m => m.AckAsync(cancellationToken: cancellationToken).AsTask())).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Suppressed {Count} addresses from reports")]
    private static partial void LogSuppressed(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record {Count} reports, redelivering later: {Reason}")]
    private static partial void LogApplyFailed(ILogger logger, int count, string reason);
}
