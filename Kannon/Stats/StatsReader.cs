using Npgsql;

namespace Kannon.Stats;

/// <summary>The Stats APIs' queries. Every range is half-open: <c>from &lt;= timestamp &lt; to</c>.</summary>
internal sealed class StatsReader(NpgsqlDataSource dataSource)
{
    public sealed record Page(long Total, IReadOnlyList<StatEvent> Stats);

    /// <summary>A page of a Domain's rows, newest first (ties by id, so pages never overlap or skip), and how many the range holds.</summary>
    public async Task<Page> PageAsync(string domain, DateTimeOffset from, DateTimeOffset to, long skip, int take, CancellationToken cancellationToken)
    {
        await using var batch = dataSource.CreateBatch();
        var count = new NpgsqlBatchCommand("SELECT count(*) FROM stats WHERE domain = $1 AND timestamp >= $2 AND timestamp < $3");
        AddRange(count.Parameters, domain, from, to);
        batch.BatchCommands.Add(count);
        var page = new NpgsqlBatchCommand("""
            SELECT id, type, email, message_id, domain, timestamp, data::text FROM stats
            WHERE domain = $1 AND timestamp >= $2 AND timestamp < $3
            ORDER BY timestamp DESC, id DESC
            OFFSET $4 LIMIT $5
            """);
        AddRange(page.Parameters, domain, from, to);
        page.Parameters.Add(new NpgsqlParameter<long> { TypedValue = skip });
        page.Parameters.Add(new NpgsqlParameter<int> { TypedValue = take });
        batch.BatchCommands.Add(page);

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var total = reader.GetInt64(0);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var stats = new List<StatEvent>(take);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            stats.Add(new StatEvent
            {
                Id = reader.GetInt64(0),
                Type = reader.GetString(1),
                Email = reader.GetString(2),
                MessageId = reader.GetString(3),
                Domain = reader.GetString(4),
                Timestamp = reader.GetFieldValue<DateTimeOffset>(5),
                Data = reader.GetString(6),
            });
        }

        return new Page(total, stats);
    }

    /// <summary>Hourly (UTC) counts per type, computed from the rows still kept; oldest first.</summary>
    public Task<List<AggregatedStat>> TimelineAsync(string domain, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
        BucketsAsync("""
            SELECT date_trunc('hour', timestamp, 'UTC') AS hour, type, count(*) FROM stats
            WHERE domain = $1 AND timestamp >= $2 AND timestamp < $3
            GROUP BY hour, type
            ORDER BY hour, type
            """, domain, from, to, cancellationToken);

    /// <summary>The kept hourly counts (never pruned) whose hour starts in the range; oldest first.</summary>
    public Task<List<AggregatedStat>> AggregatedAsync(string domain, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
        BucketsAsync("""
            SELECT timestamp, type, count FROM aggregated_stats
            WHERE domain = $1 AND timestamp >= $2 AND timestamp < $3
            ORDER BY timestamp, type
            """, domain, from, to, cancellationToken);

    private async Task<List<AggregatedStat>> BucketsAsync(string sql, string domain, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(sql);
        AddRange(command.Parameters, domain, from, to);
        var buckets = new List<AggregatedStat>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            buckets.Add(new AggregatedStat
            {
                Timestamp = reader.GetFieldValue<DateTimeOffset>(0),
                Type = reader.GetString(1),
                Count = reader.GetInt64(2),
                Domain = domain,
            });
        }

        return buckets;
    }

    private static void AddRange(NpgsqlParameterCollection parameters, string domain, DateTimeOffset from, DateTimeOffset to)
    {
        parameters.Add(new NpgsqlParameter<string> { TypedValue = domain });
        parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = from.ToUniversalTime() });
        parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = to.ToUniversalTime() });
    }
}
