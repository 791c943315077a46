using Npgsql;

namespace Kannon.Tests.Infrastructure;

/// <summary>A fresh, migrated database for one test class, on the run's shared PostgreSQL.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private NpgsqlDataSource? _dataSource;

    public string ConnectionString { get; private set; } = "";

    public NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("fixture not initialised");

    public async Task InitializeAsync()
    {
        ConnectionString = await SharedPostgres.CreateDatabaseAsync("t").ConfigureAwait(false);
        _dataSource = NpgsqlDataSource.Create(ConnectionString);
    }

    /// <summary>Another migrated database, for a test that needs its own.</summary>
    public Task<string> CreateDatabaseAsync(string prefix) => SharedPostgres.CreateDatabaseAsync(prefix);

    /// <summary>A database with nothing in it, not even the migrations.</summary>
    public Task<string> CreateEmptyDatabaseAsync() => SharedPostgres.CreateDatabaseAsync("empty", template: "template0");

    public async Task DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }
}
