using Kannon.Messaging;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Npgsql;
using Bounce = Kannon.Protos.Bounce.Types.Bounce;
using BounceKind = Kannon.Protos.Bounce.Types.BounceKind;

namespace Kannon.Stats;

/// <summary>
/// Keeps a report's evidence beside the <c>bounced</c> stat it produced: consumes <c>kannon.bounce</c> (durable
/// <c>stats-bounce</c>) and writes the report (action, status, diagnostic, reporting MTA, hash) into that stat
/// row's data as <c>report</c>. It never inserts a row and never touches <c>aggregated_stats</c>, so nothing is
/// counted twice. A failed DSN whose stat is not stored yet (the two streams are consumed independently) is
/// asked again later, within the consumer's delivery bound; reports that made no stat (delayed DSNs,
/// complaints, unsubscribes) have nothing to stand beside and are only acknowledged: their evidence is the
/// suppression row.
/// </summary>
internal sealed partial class BounceEvidenceWorker(
    TopologyProvisioner topology,
    INatsJSContext jetStream,
    BounceEvidence evidence,
    ILogger<BounceEvidenceWorker> logger) : BackgroundService
{
    private const int BatchSize = 200;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await topology.EnsureAsync(stoppingToken).ConfigureAwait(false);
        await BatchConsumer.RunAsync<Bounce>(jetStream, Topology.BounceStream, Topology.StatsBounceConsumer, BatchSize,
            HandleBatchAsync, logger, stoppingToken).ConfigureAwait(false);
    }

    // One at a time, each answered on its own: a report whose stat is not stored yet waits without holding the others.
    private async Task HandleBatchAsync(List<INatsJSMsg<Bounce>> batch)
    {
        foreach (var message in batch)
        {
            await HandleAsync(message, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task HandleAsync(INatsJSMsg<Bounce> message, CancellationToken cancellationToken)
    {
        // BatchConsumer passes only decoded messages.
        var report = message.Data!;
        if (report.Kind != BounceKind.Dsn || !report.Action.Equals("failed", StringComparison.OrdinalIgnoreCase))
        {
            await message.AckAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            if (await evidence.AttachAsync(report, cancellationToken).ConfigureAwait(false))
            {
                await message.AckAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await message.RetryLaterAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            LogStoreFailed(logger, e.Message);
            await message.RetryLaterAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not store bounce evidence, redelivering later: {Reason}")]
    private static partial void LogStoreFailed(ILogger logger, string reason);
}
