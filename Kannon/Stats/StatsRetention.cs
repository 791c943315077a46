using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Kannon.Stats;

/// <summary>
/// Every 10 minutes (the first time shortly after start) deletes <c>stats</c> rows older than
/// <c>stats.retention</c> and tracking keys past their expiration. Deletes go in bounded statements, each its
/// own short transaction, so the worker's inserts never wait long behind them. Hourly counts are kept forever.
/// </summary>
internal sealed partial class StatsRetention(
    NpgsqlDataSource dataSource,
    IOptions<StatsOptions> options,
    StatsMetrics metrics,
    TimeProvider time,
    ILogger<StatsRetention> logger) : BackgroundService
{
    public const int DefaultBatchSize = 10_000;

    public static readonly TimeSpan FirstRunDelay = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);

    public sealed record Pruned(long Stats, long Keys);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = FirstRunDelay;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false);
                delay = Interval;
                var pruned = await PruneAsync(options.Value.Retention, stoppingToken).ConfigureAwait(false);
                if (pruned.Stats + pruned.Keys > 0)
                {
                    LogPruned(logger, pruned.Stats, pruned.Keys);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                LogPruneFailed(logger, e.Message);
            }
        }
    }

    /// <summary>Deletes stats older than <paramref name="retention"/> and expired keys, <paramref name="batchSize"/> rows per statement.</summary>
    public async Task<Pruned> PruneAsync(TimeSpan retention, CancellationToken cancellationToken, int batchSize = DefaultBatchSize)
    {
        var now = time.GetUtcNow();
        var stats = await DeleteInBatchesAsync(
            "DELETE FROM stats WHERE id IN (SELECT id FROM stats WHERE timestamp < $1 LIMIT $2)",
            now - retention, batchSize, cancellationToken).ConfigureAwait(false);
        metrics.Pruned(stats, "stats");
        var keys = await DeleteInBatchesAsync(
            "DELETE FROM stats_keys WHERE id IN (SELECT id FROM stats_keys WHERE expiration_time < $1 LIMIT $2)",
            now, batchSize, cancellationToken).ConfigureAwait(false);
        metrics.Pruned(keys, "stats_keys");
        return new Pruned(stats, keys);
    }

    private async Task<long> DeleteInBatchesAsync(string sql, DateTimeOffset before, int batchSize, CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            await using var command = dataSource.CreateCommand(sql);
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = before.ToUniversalTime() });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = batchSize });
            var deleted = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            total += deleted;
            if (deleted < batchSize)
            {
                return total;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention deleted {Stats} stats rows and {Keys} expired tracking keys")]
    private static partial void LogPruned(ILogger logger, long stats, long keys);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stats retention failed, trying again at the next run: {Reason}")]
    private static partial void LogPruneFailed(ILogger logger, string reason);
}
