using System.Diagnostics;
using Kannon.Hosting;
using Kannon.Messaging;
using Kannon.Stats;
using Kannon.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Xunit.Abstractions;

namespace Kannon.Tests.Stats;

/// <summary>How fast the Stats worker empties a backlog; printed, never asserted (shared CI machines vary).</summary>
public sealed class StatsIngestionMeasurement(PostgresFixture postgres, NatsFixture nats, ITestOutputHelper output)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>
{
    private const int Events = 20_000;

    [Fact]
    public async Task Ingesting_a_backlog_of_20000_events_prints_events_per_second()
    {
        await using var publisher = new StatsPublisher(nats.Url);
        await new TopologyProvisioner(publisher.JetStream, Microsoft.Extensions.Options.Options.Create(new Kannon.Hosting.KannonOptions()), NullLogger<TopologyProvisioner>.Instance).EnsureAsync(CancellationToken.None);
        var domain = AdminClients.NewDomainName("bench");
        var start = DateTimeOffset.UtcNow.AddHours(-6);
        var events = Enumerable.Range(0, Events)
            .Select(i => i % 2 == 0
                ? Outcomes.Delivered($"msg_{i / 100}@{domain}", $"r{i}@example.org", domain, start.AddMilliseconds(i * 997))
                : Outcomes.Opened($"msg_{i / 100}@{domain}", $"r{i}@example.org", domain, start.AddMilliseconds(i * 997), "Mozilla/5.0", "198.51.100.7"))
            .ToList();

        var publishing = Stopwatch.StartNew();
        foreach (var chunk in events.Chunk(500))
        {
            await Task.WhenAll(chunk.Select(e => publisher.PublishAsync(e)));
        }

        publishing.Stop();
        output.WriteLine($"published {Events} events in {publishing.Elapsed.TotalSeconds:F2} s ({Events / publishing.Elapsed.TotalSeconds:F0}/s)");

        var ingesting = Stopwatch.StartNew();
        await using var host = await KannonTestHost.StartAsync(new Roles(Stats: true), KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url));
        var first = await Eventually.ReturnsAsync(() => CountAsync("SELECT count(*) FROM stats WHERE domain = $1", domain), n => n > 0,
            because: "the worker starts ingesting");
        var started = ingesting.Elapsed;
        await Eventually.ReturnsAsync(() => CountAsync("SELECT count(*) FROM stats WHERE domain = $1", domain), n => n == Events,
            timeout: TimeSpan.FromMinutes(3), because: "the backlog is ingested");
        ingesting.Stop();
        var steady = ingesting.Elapsed - started;
        output.WriteLine($"ingested {Events} events in {ingesting.Elapsed.TotalSeconds:F2} s from host start ({Events / ingesting.Elapsed.TotalSeconds:F0} events/s); "
            + $"the last {Events - first} after the first rows in {steady.TotalSeconds:F2} s ({(Events - first) / steady.TotalSeconds:F0} events/s)");

        (await CountAsync("SELECT coalesce(sum(count), 0)::bigint FROM aggregated_stats WHERE domain = $1", domain)).Should().Be(Events);
    }

    private async Task<long> CountAsync(string sql, string domain)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = domain });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
