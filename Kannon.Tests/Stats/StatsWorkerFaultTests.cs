using Kannon.Hosting;
using Kannon.Messaging;
using Kannon.Stats;
using Kannon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Kannon.Tests.Stats;

/// <summary>The Stats worker against a database that fails or refuses rows; each test changes its class's own schema and puts it back.</summary>
public sealed class StatsWorkerFaultTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private KannonTestHost _host = null!;
    private StatsPublisher _publisher = null!;

    public async Task InitializeAsync()
    {
        _host = await KannonTestHost.StartAsync(new Roles(Stats: true), KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url));
        await _host.Services.GetRequiredService<TopologyProvisioner>().EnsureAsync(CancellationToken.None);
        _publisher = new StatsPublisher(nats.Url);
    }

    public async Task DisposeAsync()
    {
        await _publisher.DisposeAsync();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task Events_that_meet_a_failing_database_are_stored_once_it_is_back()
    {
        var domain = AdminClients.NewDomainName("outage");
        await ExecuteAsync("ALTER TABLE stats RENAME TO stats_away");
        try
        {
            await _publisher.PublishAsync(Outcomes.Accepted("msg_1@" + domain, "ann@example.org", domain, DateTimeOffset.UtcNow));
            // Handed back with a delay and delivered again: the worker failed on it at least once and is still pulling.
            await Eventually.ReturnsAsync(_publisher.StatsConsumerAsync, c => c.NumRedelivered > 0,
                because: "the event is handed back and redelivered");
        }
        finally
        {
            await ExecuteAsync("ALTER TABLE stats_away RENAME TO stats");
        }

        await Eventually.ReturnsAsync(() => CountAsync("SELECT count(*) FROM stats WHERE domain = $1", domain), n => n == 1,
            because: "the event handed back is redelivered and stored");
        (await CountAsync("SELECT coalesce(sum(count), 0)::bigint FROM aggregated_stats WHERE domain = $1", domain)).Should().Be(1);
    }

    [Fact]
    public async Task A_row_the_database_refuses_is_terminated_alone_and_its_batch_is_stored()
    {
        var domain = AdminClients.NewDomainName("refused");
        var at = DateTimeOffset.UtcNow;
        await ExecuteAsync("ALTER TABLE stats ALTER COLUMN email TYPE varchar(20)");
        try
        {
            await _publisher.PublishAsync(Outcomes.Accepted("msg_1@" + domain, "short@example.org", domain, at));
            await _publisher.PublishAsync(Outcomes.Accepted("msg_1@" + domain, "much-too-long-for-the-column@example.org", domain, at));
            await _publisher.PublishAsync(Outcomes.Delivered("msg_1@" + domain, "short@example.org", domain, at));

            await Eventually.ReturnsAsync(() => CountAsync("SELECT count(*) FROM stats WHERE domain = $1", domain), n => n == 2);
            await _publisher.DrainedAsync();
        }
        finally
        {
            await ExecuteAsync("ALTER TABLE stats ALTER COLUMN email TYPE varchar(320)");
        }

        (await CountAsync("SELECT count(*) FROM stats WHERE domain = $1 AND email = 'short@example.org'", domain)).Should().Be(2);
        (await CountAsync("SELECT coalesce(sum(count), 0)::bigint FROM aggregated_stats WHERE domain = $1", domain)).Should().Be(2);
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<long> CountAsync(string sql, string domain)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = domain });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
