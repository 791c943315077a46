using Kannon.Tests.Infrastructure;
using Kannon.Data;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Kannon.Tests.Data;


public sealed class MigrationRunnerTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    private static readonly string[] KannonTables =
    [
        "aggregated_stats", "api_keys", "dkim_keys", "domains", "kannon_migrations", "message_attachments",
        "messages", "sending_pool_emails", "stats", "stats_keys", "suppression_removals", "suppressions", "templates",
    ];

    private NpgsqlDataSource _dataSource = null!;

    public async Task InitializeAsync() =>
        _dataSource = NpgsqlDataSource.Create(await postgres.CreateEmptyDatabaseAsync());

    public async Task DisposeAsync() => await _dataSource.DisposeAsync();

    [Fact]
    public async Task Migrating_an_empty_database_creates_every_table()
    {
        var applied = await Runner().ApplyAsync(CancellationToken.None);

        applied.Should().Be(EmbeddedMigrations().Count).And.BeGreaterThan(0);
        (await Schema.TablesAsync(_dataSource)).Should().BeEquivalentTo(KannonTables);
        var recorded = await Schema.ReadAsync(
            _dataSource, "SELECT format('%s %s', lpad(version::text, 4, '0'), name) FROM kannon_migrations ORDER BY version",
            r => r.GetString(0));
        recorded.Should().Equal(EmbeddedMigrations().Select(m => $"{m.Version:D4} {m.Name}"));
    }

    [Fact]
    public async Task A_second_run_applies_nothing_and_changes_nothing()
    {
        await Runner().ApplyAsync(CancellationToken.None);
        var before = await Schema.SnapshotAsync(_dataSource);

        var applied = await Runner().ApplyAsync(CancellationToken.None);

        applied.Should().Be(0);
        (await Schema.SnapshotAsync(_dataSource)).Should().Equal(before);
    }

    [Fact]
    public async Task Two_runners_at_once_both_succeed_and_record_each_migration_once()
    {
        var results = await Task.WhenAll(
            Runner().ApplyAsync(CancellationToken.None),
            Runner().ApplyAsync(CancellationToken.None));

        results.Should().BeEquivalentTo([EmbeddedMigrations().Count, 0]);
        var versions = await Schema.ReadAsync(
            _dataSource, "SELECT version FROM kannon_migrations ORDER BY version", r => r.GetInt32(0));
        versions.Should().Equal(EmbeddedMigrations().Select(m => m.Version));
    }

    [Fact]
    public async Task A_changed_applied_migration_is_refused_and_nothing_is_applied()
    {
        await Runner().ApplyAsync(CancellationToken.None);
        await Schema.ExecuteAsync(_dataSource, "UPDATE kannon_migrations SET checksum = repeat('0', 64) WHERE version = 1");
        var later = SqlMigration.Create("9999_later.sql", "CREATE TABLE later (id int)");

        var run = () => Runner([.. EmbeddedMigrations(), later]).ApplyAsync(CancellationToken.None);

        await run.Should().ThrowAsync<MigrationException>()
            .WithMessage("Migration 0001_initial was changed after it was applied*");
        (await Schema.TablesAsync(_dataSource)).Should().NotContain("later");
    }

    [Fact]
    public async Task A_failing_migration_is_rolled_back_and_earlier_ones_stay_applied()
    {
        var first = SqlMigration.Create("0001_first.sql", "CREATE TABLE first (id int)");
        var broken = SqlMigration.Create("0002_broken.sql", "CREATE TABLE second (id int); SELECT * FROM missing");

        var run = () => Runner([broken, first]).ApplyAsync(CancellationToken.None);

        await run.Should().ThrowAsync<PostgresException>();
        (await Schema.TablesAsync(_dataSource)).Should().BeEquivalentTo(["first", "kannon_migrations"]);
        var versions = await Schema.ReadAsync(_dataSource, "SELECT version FROM kannon_migrations", r => r.GetInt32(0));
        versions.Should().Equal(1);
    }

    private static IReadOnlyList<SqlMigration> EmbeddedMigrations() =>
        SqlMigration.LoadEmbedded(typeof(MigrationRunner).Assembly);

    private MigrationRunner Runner() => new(_dataSource, NullLogger<MigrationRunner>.Instance);

    private MigrationRunner Runner(IEnumerable<SqlMigration> migrations) =>
        new(_dataSource, NullLogger<MigrationRunner>.Instance, migrations);
}
