using System.Data;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Kannon.Data;

/// <summary>
/// Applies the embedded <c>migrations/NNNN_name.sql</c> files that the database has not seen, in
/// version order, each in its own transaction, and records them in <c>kannon_migrations</c>.
/// </summary>
internal sealed partial class MigrationRunner
{
    // Any fixed value works as long as every Kannon version uses the same one: ASCII "kannon".
    private const long AdvisoryLockKey = 0x6B616E6E6F6E;

    private const string CreateHistoryTable = """
        CREATE TABLE IF NOT EXISTS kannon_migrations (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            checksum   text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger<MigrationRunner> _logger;
    private readonly IReadOnlyList<SqlMigration> _migrations;

    public MigrationRunner(NpgsqlDataSource dataSource, ILogger<MigrationRunner> logger)
        : this(dataSource, logger, SqlMigration.LoadEmbedded(typeof(MigrationRunner).Assembly))
    {
    }

    internal MigrationRunner(
        NpgsqlDataSource dataSource,
        ILogger<MigrationRunner> logger,
        IEnumerable<SqlMigration> migrations)
    {
        _dataSource = dataSource;
        _logger = logger;
        _migrations = SqlMigration.Ordered(migrations);
    }

    /// <returns>How many migrations were applied; 0 when the database was already up to date.</returns>
    /// <exception cref="MigrationException">An applied migration's file has changed since.</exception>
    public async Task<int> ApplyAsync(CancellationToken cancellationToken)
    {
        // The session lock belongs to this connection, so the whole run stays on it.
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await LockAsync(connection, cancellationToken);
        try
        {
            await ExecuteAsync(connection, null, CreateHistoryTable, cancellationToken);
            var applied = await ReadAppliedAsync(connection, cancellationToken);
            Verify(applied);

            var count = 0;
            foreach (var migration in _migrations.Where(m => !applied.ContainsKey(m.Version)))
            {
                await ApplyAsync(connection, migration, cancellationToken);
                count++;
            }

            LogUpToDate(applied.Count + count, count);
            return count;
        }
        finally
        {
            // A broken connection has lost its session and its lock with it.
            if (connection.FullState == ConnectionState.Open)
            {
                await ExecuteAsync(connection, null, $"SELECT pg_advisory_unlock({AdvisoryLockKey})", CancellationToken.None);
            }
        }
    }

    private async Task LockAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var tryLock = new NpgsqlCommand($"SELECT pg_try_advisory_lock({AdvisoryLockKey})", connection);
        if ((bool)(await tryLock.ExecuteScalarAsync(cancellationToken))!)
        {
            return;
        }

        LogWaitingForLock();
        await ExecuteAsync(connection, null, $"SELECT pg_advisory_lock({AdvisoryLockKey})", cancellationToken);
    }

    private static async Task<Dictionary<int, (string Name, string Checksum)>> ReadAppliedAsync(
        NpgsqlConnection connection,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT version, name, checksum FROM kannon_migrations", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var applied = new Dictionary<int, (string, string)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            applied[reader.GetInt32(0)] = (reader.GetString(1), reader.GetString(2));
        }

        return applied;
    }

    private void Verify(Dictionary<int, (string Name, string Checksum)> applied)
    {
        var known = _migrations.ToDictionary(m => m.Version);
        foreach (var (version, record) in applied.OrderBy(a => a.Key))
        {
            if (!known.TryGetValue(version, out var migration))
            {
                LogUnknownApplied(version, record.Name);
                continue;
            }

            if (!string.Equals(migration.Checksum, record.Checksum, StringComparison.Ordinal))
            {
                throw new MigrationException(
                    $"Migration {migration.FileName} was changed after it was applied "
                    + $"(applied checksum {record.Checksum}, this build's {migration.Checksum}). "
                    + "An applied migration must never be edited: restore the file and add a new migration.");
            }
        }
    }

    private async Task ApplyAsync(NpgsqlConnection connection, SqlMigration migration, CancellationToken cancellationToken)
    {
        LogApplying(migration.FileName);
        var started = Stopwatch.GetTimestamp();

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken);
        await using (var record = new NpgsqlCommand(
            "INSERT INTO kannon_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            connection,
            transaction))
        {
            record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = migration.Version });
            record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = migration.Name });
            record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = migration.Checksum });
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        LogApplied(migration.FileName, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private static async Task ExecuteAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction? transaction,
        string sql,
        CancellationToken cancellationToken)
    {
        // No timeout: waiting for another runner's lock, or a long backfill, is not a failure.
        await using var command = new NpgsqlCommand(sql, connection, transaction) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "Another process is migrating the database; waiting for it to finish")]
    private partial void LogWaitingForLock();

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Applying migration {Migration}")]
    private partial void LogApplying(string migration);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information,
        Message = "Applied migration {Migration} in {ElapsedMilliseconds} ms")]
    private partial void LogApplied(string migration, long elapsedMilliseconds);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information,
        Message = "Database schema is up to date: {Total} migrations recorded, {Applied} applied now")]
    private partial void LogUpToDate(int total, int applied);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning,
        Message = "The database records migration {Version} ({Name}), which this build does not know; a newer Kannon applied it")]
    private partial void LogUnknownApplied(int version, string name);
}
