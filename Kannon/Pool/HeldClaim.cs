using Npgsql;

namespace Kannon.Pool;

/// <summary>
/// Deliveries claimed as row locks (<c>FOR UPDATE SKIP LOCKED</c>) in a transaction held open while the worker
/// handles them (ADR 0018). Nobody else claims them meanwhile; the worker's changes to them go through
/// <see cref="Connection"/> and land together at <see cref="CommitAsync"/>. If the worker dies, its connection
/// goes and with it the locks: the rows are as they were before the claim, with no claimed state to write
/// first and none to reclaim later. <c>idle_in_transaction_session_timeout</c> bounds a holder that hangs.
/// Disposing without committing rolls back: every row goes back as it was.
/// </summary>
internal sealed class HeldClaim<T> : IAsyncDisposable
{
    private readonly NpgsqlTransaction _transaction;
    private bool _ended;
    private bool _disposed;

    private HeldClaim(NpgsqlConnection connection, NpgsqlTransaction transaction, List<T> rows)
    {
        Connection = connection;
        _transaction = transaction;
        Rows = rows;
    }

    /// <summary>The claim's connection, inside its transaction: statements on it see and keep the locks.</summary>
    public NpgsqlConnection Connection { get; }

    public List<T> Rows { get; }

    /// <summary>Runs <paramref name="select"/> (a <c>SELECT … FOR UPDATE SKIP LOCKED</c>) in a new transaction that PostgreSQL ends after <paramref name="hold"/> idle.</summary>
    public static async Task<HeldClaim<T>> OpenAsync(
        NpgsqlDataSource dataSource, TimeSpan hold, string select, IEnumerable<object> parameters,
        Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        NpgsqlTransaction? transaction = null;
        try
        {
            transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using var batch = new NpgsqlBatch(connection, transaction);
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                $"SET LOCAL idle_in_transaction_session_timeout = {(long)Math.Clamp(hold.TotalMilliseconds, 1, int.MaxValue)}"));
            var query = new NpgsqlBatchCommand(select);
            foreach (var value in parameters)
            {
                query.Parameters.Add(new NpgsqlParameter { Value = value });
            }

            batch.BatchCommands.Add(query);
            var rows = new List<T>();
            await using (var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    rows.Add(read(reader));
                }
            }

            return new HeldClaim<T>(connection, transaction, rows);
        }
        catch
        {
            if (transaction is not null)
            {
                await transaction.DisposeAsync().ConfigureAwait(false);
            }

            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public NpgsqlCommand Command(string sql) => new(sql, Connection, _transaction);

    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        _ended = true;
        await _transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Rolls back unless committed, and returns the connection. Safe to call more than once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_ended)
        {
            _ended = true;
            try
            {
                await _transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                // The connection is gone or broken: PostgreSQL has ended the transaction itself.
            }
        }

        await _transaction.DisposeAsync().ConfigureAwait(false);
        await Connection.DisposeAsync().ConfigureAwait(false);
    }
}
