using Npgsql;
using NpgsqlTypes;

namespace Kannon.Stats;

/// <summary>Writes outcome rows and their hourly counts; the Stats worker's only SQL.</summary>
internal sealed class StatsRecorder(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// Inserts the rows that are not stored yet and adds exactly those to the hourly counts, in one statement
    /// (so one transaction): an event redelivered by JetStream collides on the stats key and counts nothing.
    /// Rows and groups go in key order, so two workers writing overlapping batches lock in the same order.
    /// Returns how many rows were new.
    /// </summary>
    public async Task<int> RecordAsync(IReadOnlyList<StatEvent> stats, CancellationToken cancellationToken)
    {
        if (stats.Count == 0)
        {
            return 0;
        }

        var ordered = stats
            .OrderBy(s => s.Type, StringComparer.Ordinal)
            .ThenBy(s => s.MessageId, StringComparer.Ordinal)
            .ThenBy(s => s.Email, StringComparer.Ordinal)
            .ThenBy(s => s.Timestamp)
            .ToList();

        await using var command = dataSource.CreateCommand("""
            WITH inserted AS (
                INSERT INTO stats (type, email, message_id, domain, timestamp, data)
                SELECT i.type, i.email, i.message_id, i.domain, i.timestamp, i.data::jsonb
                FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
                    AS i(type, email, message_id, domain, timestamp, data)
                ON CONFLICT (type, message_id, email, timestamp) DO NOTHING
                RETURNING type, domain, date_trunc('hour', timestamp, 'UTC') AS hour
            ), counted AS (
                INSERT INTO aggregated_stats (domain, timestamp, type, count)
                SELECT domain, hour, type, count(*) FROM inserted
                GROUP BY domain, hour, type
                ORDER BY domain, hour, type
                ON CONFLICT (domain, timestamp, type) DO UPDATE SET count = aggregated_stats.count + EXCLUDED.count
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM inserted)::int
            """);
        command.Parameters.Add(Text(ordered.Select(s => s.Type)));
        command.Parameters.Add(Text(ordered.Select(s => s.Email)));
        command.Parameters.Add(Text(ordered.Select(s => s.MessageId)));
        command.Parameters.Add(Text(ordered.Select(s => s.Domain)));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = ordered.Select(s => s.Timestamp.ToUniversalTime()).ToArray() });
        command.Parameters.Add(Text(ordered.Select(s => s.Data)));
        return (int)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    private static NpgsqlParameter<string[]> Text(IEnumerable<string> values) =>
        new() { TypedValue = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };
}
