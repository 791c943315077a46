using Kannon.Hosting;
using Kannon.Stats;
using Kannon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Kannon.Tests.Stats;

public sealed class StatsRetentionTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private KannonTestHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await KannonTestHost.StartAsync(new Roles(Stats: true), KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url));

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Retention_deletes_old_stats_and_expired_keys_in_batches_and_keeps_recent_ones_and_the_hourly_counts()
    {
        var domain = AdminClients.NewDomainName("retention");
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < 5; i++)
        {
            await InsertStatAsync(domain, $"old{i}@example.org", now.AddHours(-3).AddMinutes(i));
        }

        await InsertStatAsync(domain, "recent0@example.org", now.AddMinutes(-50));
        await InsertStatAsync(domain, "recent1@example.org", now.AddMinutes(-1));
        await ExecuteAsync("INSERT INTO aggregated_stats (domain, timestamp, type, count) VALUES ($1, $2, 'accepted', 5)", domain, Hour(now.AddHours(-3)));
        var expired = $"key_expired_{Guid.NewGuid():N}";
        var valid = $"key_valid_{Guid.NewGuid():N}";
        await ExecuteAsync("INSERT INTO stats_keys (id, secret, expiration_time) VALUES ($1, 'c2VjcmV0', $2)", expired, now.AddMinutes(-1));
        await ExecuteAsync("INSERT INTO stats_keys (id, secret, expiration_time) VALUES ($1, 'c2VjcmV0', $2)", valid, now.AddDays(1));

        var pruned = await _host.Services.GetRequiredService<StatsRetention>().PruneAsync(TimeSpan.FromHours(1), CancellationToken.None, batchSize: 2);

        pruned.Stats.Should().BeGreaterThanOrEqualTo(5);
        pruned.Keys.Should().BeGreaterThanOrEqualTo(1);
        (await EmailsAsync(domain)).Should().BeEquivalentTo("recent0@example.org", "recent1@example.org");
        (await CountAsync("SELECT count(*) FROM stats_keys WHERE id = $1", expired)).Should().Be(0);
        (await CountAsync("SELECT count(*) FROM stats_keys WHERE id = $1", valid)).Should().Be(1);
        (await CountAsync("SELECT coalesce(sum(count), 0)::bigint FROM aggregated_stats WHERE domain = $1", domain)).Should().Be(5);
    }

    private static DateTimeOffset Hour(DateTimeOffset at) => new(at.Year, at.Month, at.Day, at.Hour, 0, 0, TimeSpan.Zero);

    private Task InsertStatAsync(string domain, string email, DateTimeOffset at) =>
        ExecuteAsync($"INSERT INTO stats (type, email, message_id, domain, timestamp, data) VALUES ('accepted', $1, 'msg_1@{domain}', '{domain}', $2, '{{\"accepted\":{{}}}}')",
            email, at.ToUniversalTime());

    private async Task ExecuteAsync(string sql, string value, DateTimeOffset at)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = value });
        command.Parameters.Add(new NpgsqlParameter { Value = at.ToUniversalTime() });
        await command.ExecuteNonQueryAsync();
    }

    private async Task<List<string>> EmailsAsync(string domain)
    {
        await using var command = postgres.DataSource.CreateCommand("SELECT email FROM stats WHERE domain = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = domain });
        await using var reader = await command.ExecuteReaderAsync();
        var emails = new List<string>();
        while (await reader.ReadAsync())
        {
            emails.Add(reader.GetString(0));
        }

        return emails;
    }

    private async Task<long> CountAsync(string sql, string value)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = value });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
