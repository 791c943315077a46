using System.Net;
using Kannon.Data;
using Kannon.Hosting;
using Kannon.Hosting.Embedded;
using Kannon.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Kannon.Tests.Lifecycle;

public sealed class StartupWaitsForStoresTests
{
    [Fact]
    public async Task A_process_started_before_postgres_and_nats_waits_for_them_and_readyz_follows()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"kannon-late-{Guid.NewGuid():N}");
        await using var postgres = new PostgresServer(Path.Combine(directory, "pg"), FreePort.Next(), durable: false);
        await using var nats = new NatsServer(Path.Combine(directory, "nats"), FreePort.Next());
        try
        {
            var database = postgres.ConnectionString();
            var settings = KannonTestHost.BaseSettings(database, nats.Url);
            settings["validator:poll_interval"] = "200ms";
            settings["dispatcher:poll_interval"] = "200ms";

            // Every worker role, with neither store reachable yet: the host must start, not crash.
            await using var host = await KannonTestHost.StartAsync(new Roles(Validator: true, Dispatcher: true, Stats: true, Sender: true), settings);
            using var http = new HttpClient { BaseAddress = host.HttpAddress };
            (await http.GetAsync("/healthz")).StatusCode.Should().Be(HttpStatusCode.OK, "alive while the stores are away");
            (await http.GetAsync("/readyz")).StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "not ready without PostgreSQL and NATS");

            await postgres.StartAsync(CancellationToken.None);
            await using (var dataSource = NpgsqlDataSource.Create(database))
            {
                await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).ApplyAsync(CancellationToken.None);
            }

            await nats.StartAsync(CancellationToken.None);

            await Eventually.HoldsAsync(async () => (await http.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK,
                TimeSpan.FromSeconds(90), "ready once both stores are up, without a restart");
        }
        finally
        {
            await nats.StopAsync();
            await postgres.StopAsync();
            Directory.Delete(directory, recursive: true);
        }
    }
}
