using Microsoft.Extensions.Logging;
using Npgsql;

namespace Kannon.Pool;

/// <summary>
/// Wakes a Pool worker as soon as new work is committed (PostgreSQL LISTEN/NOTIFY on <see cref="Channel"/>)
/// instead of after a whole poll interval; the poll interval stays as the fallback when a notification is missed.
/// </summary>
internal sealed partial class PoolSignal(NpgsqlDataSource dataSource, ILogger<PoolSignal> logger) : IAsyncDisposable
{
    public const string Channel = "kannon_pool";

    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _pulse = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _listener;

    /// <summary>Notifies every listener; call inside the transaction that made the work (it fires on commit).</summary>
    public static NpgsqlCommand NotifyCommand(NpgsqlConnection connection, string what) =>
        new($"SELECT pg_notify('{Channel}', '{what}')", connection);

    public void Start() => _listener ??= Task.Run(() => ListenAsync(_stop.Token));

    /// <summary>
    /// Take this before looking for work and hand it to <see cref="WaitAsync"/> when none was found: a
    /// notification that arrives while the worker looks is then not slept through.
    /// </summary>
    public Task Ticket()
    {
        Start();
        return Volatile.Read(ref _pulse).Task;
    }

    /// <summary>Returns when work may have been committed since <paramref name="ticket"/> was taken, or after <paramref name="timeout"/>.</summary>
    public async Task WaitAsync(Task ticket, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await Task.WhenAny(ticket, Task.Delay(timeout, cancellationToken)).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_listener is not null)
        {
            await _listener.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _stop.Dispose();
    }

    private void Pulse() => Interlocked.Exchange(ref _pulse, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private async Task ListenAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                connection.Notification += (_, _) => Pulse();
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                Pulse(); // anything committed while we were not listening
                while (!cancellationToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or System.IO.IOException)
            {
                LogListenFailed(logger, e.Message);
                Pulse();
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool notifications lost ({Reason}); polling until the listener reconnects")]
    private static partial void LogListenFailed(ILogger logger, string reason);
}
