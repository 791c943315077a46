using Kannon.Tests.Infrastructure;
using Npgsql;

namespace Kannon.Tests.Hosting;

public sealed class MigrateCommandTests : IClassFixture<PostgresFixture>
{
    private readonly PostgresFixture _postgres;

    public MigrateCommandTests(PostgresFixture postgres) => _postgres = postgres;

    [Fact]
    public async Task Migrate_creates_every_table_then_changes_nothing_and_two_at_once_do_not_fail()
    {
        var database = await EmptyDatabaseAsync();
        var url = ToUrl(database);
        var env = new Dictionary<string, string> { ["KANNON_DATABASE_URL"] = url };

        var first = await KannonProcess.RunAsync(["migrate"], env);
        first.ExitCode.Should().Be(0, first.Output);
        first.Output.Should().Contain("applied");

        var tables = await TablesAsync(database);
        tables.Should().Contain(["domains", "dkim_keys", "api_keys", "messages", "sending_pool_emails", "templates", "stats", "aggregated_stats", "stats_keys", "kannon_migrations"]);

        var second = await KannonProcess.RunAsync(["migrate", "main"], env);
        second.ExitCode.Should().Be(0, second.Output);
        second.Output.Should().Contain("up to date");
        (await TablesAsync(database)).Should().BeEquivalentTo(tables);

        var fresh = ToUrl(await EmptyDatabaseAsync());
        var together = await Task.WhenAll(
            KannonProcess.RunAsync(["migrate"], new Dictionary<string, string> { ["KANNON_DATABASE_URL"] = fresh }),
            KannonProcess.RunAsync(["migrate"], new Dictionary<string, string> { ["KANNON_DATABASE_URL"] = fresh }));
        together.Should().AllSatisfy(r => r.ExitCode.Should().Be(0, r.Output));
    }

    [Fact]
    public async Task Migrate_against_an_unreachable_database_fails_with_one_clear_line()
    {
        var (code, output) = await KannonProcess.RunAsync(["migrate"], new Dictionary<string, string>
        {
            ["KANNON_DATABASE_URL"] = $"postgres://kannon@127.0.0.1:{Kannon.Hosting.Embedded.FreePort.Next()}/nowhere",
        });

        code.Should().NotBe(0);
        output.Should().Contain("migrate failed");
    }

    private async Task<string> EmptyDatabaseAsync()
    {
        var builder = new NpgsqlConnectionStringBuilder(_postgres.ConnectionString);
        var name = $"empty_{Guid.NewGuid():N}";
        await using (var command = _postgres.DataSource.CreateCommand($"CREATE DATABASE {name} TEMPLATE template0"))
        {
            await command.ExecuteNonQueryAsync();
        }

        builder.Database = name;
        return builder.ConnectionString;
    }

    private static string ToUrl(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        return $"postgres://{b.Username}@{b.Host}:{b.Port}/{b.Database}";
    }

    private static async Task<List<string>> TablesAsync(string connectionString)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
        await using var reader = await command.ExecuteReaderAsync();
        var tables = new List<string>();
        while (await reader.ReadAsync())
        {
            tables.Add(reader.GetString(0));
        }

        return tables;
    }
}
