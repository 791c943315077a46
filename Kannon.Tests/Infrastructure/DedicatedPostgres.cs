using Kannon.Data;
using Kannon.Hosting.Embedded;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Kannon.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL server of one test class alone, with a migrated database, for tests that stop and start it
/// (the shared server of <see cref="SharedPostgres"/> must stay up for everybody else).
/// </summary>
internal sealed class DedicatedPostgres : IAsyncDisposable
{
    private const string Database = "kannon";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"kannon-test-own-pg-{Guid.NewGuid():N}");
    private readonly PostgresServer _server;

    private DedicatedPostgres() => _server = new PostgresServer(_directory, FreePort.Next(), durable: false);

    public string ConnectionString => _server.ConnectionString(Database);

    public static async Task<DedicatedPostgres> StartAsync()
    {
        var postgres = new DedicatedPostgres();
        await postgres.StartAgainAsync();
        await using (var connection = new NpgsqlConnection(postgres._server.ConnectionString() + ";Pooling=false"))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {Database}", connection);
            await create.ExecuteNonQueryAsync();
        }

        await using var dataSource = NpgsqlDataSource.Create(postgres.ConnectionString + ";Pooling=false");
        await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).ApplyAsync(CancellationToken.None);
        return postgres;
    }

    /// <summary>Fast shutdown (SIGINT): open sessions are cut, as when an operator restarts the server.</summary>
    public Task StopAsync() => _server.StopAsync();

    public Task StartAgainAsync() => _server.StartAsync(CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync();
        await _server.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
