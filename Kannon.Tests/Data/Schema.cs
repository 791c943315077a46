using Npgsql;

namespace Kannon.Tests.Data;

internal static class Schema
{
    public static async Task<List<string>> TablesAsync(NpgsqlDataSource dataSource) =>
        await ReadAsync(
            dataSource,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
            r => r.GetString(0));

    public static async Task<List<SchemaColumn>> ColumnsAsync(NpgsqlDataSource dataSource) =>
        await ReadAsync(
            dataSource,
            """
            SELECT table_name, column_name, data_type, is_nullable = 'YES'
            FROM information_schema.columns
            WHERE table_schema = 'public'
            """,
            r => new SchemaColumn(r.GetString(0), r.GetString(1), r.GetString(2), r.GetBoolean(3)));

    /// <summary>Everything a migration could change, as sorted lines, so two snapshots compare as lists.</summary>
    public static async Task<List<string>> SnapshotAsync(NpgsqlDataSource dataSource) =>
        await ReadAsync(
            dataSource,
            """
            SELECT line FROM (
                SELECT format('column %s.%s %s %s %s', table_name, column_name, data_type, is_nullable, column_default)
                FROM information_schema.columns WHERE table_schema = 'public'
                UNION ALL
                SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = 'public'
                UNION ALL
                SELECT format('constraint %s %s', conname, pg_get_constraintdef(oid))
                FROM pg_constraint WHERE connamespace = 'public'::regnamespace
                UNION ALL
                SELECT format('migration %s %s %s %s', version, name, checksum, applied_at) FROM kannon_migrations
            ) AS snapshot(line)
            ORDER BY line
            """,
            r => r.GetString(0));

    public static async Task<List<T>> ReadAsync<T>(NpgsqlDataSource dataSource, string sql, Func<NpgsqlDataReader, T> read)
    {
        await using var command = dataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    public static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }
}
