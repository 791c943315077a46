using System.Diagnostics;
using System.Net;
using Kannon.Hosting;
using Kannon.Hosting.Embedded;
using Kannon.Messaging;
using Kannon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Kannon.Tests.Tracking;

/// <summary>The Tracker answers from memory: NATS being away slows nothing and, once it is back, the queued hits are stored.</summary>
public sealed class TrackerWithoutNatsTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>
{
    private readonly string _batchId = $"msg_{Guid.NewGuid():N}@{AdminClients.NewDomainName("track")}";

    [Fact]
    public async Task Hits_are_answered_while_nats_is_down_and_stored_once_it_is_back()
    {
        var keys = await TestTrackingKeys.CreateAsync(postgres.DataSource);
        await using var host = await KannonTestHost.StartAsync(new Roles(Tracker: true), KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url));
        await host.Services.GetRequiredService<TopologyProvisioner>().EnsureAsync(CancellationToken.None);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = host.HttpAddress };

        await nats.Server.StopAsync();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                await AnsweredQuicklyAsync(http, $"/o/{keys.Now.CreateOpen(_batchId, $"open{i}@example.org")}", HttpStatusCode.OK);
                await AnsweredQuicklyAsync(http, $"/c/{keys.Now.CreateLink(_batchId, $"click{i}@example.org", "https://example.com/")}", HttpStatusCode.TemporaryRedirect);
            }
        }
        finally
        {
            await nats.Server.StartAsync(CancellationToken.None);
        }

        var stored = await StatsStreamReader.WaitForAsync(nats.Url, s => s.MessageId == _batchId, count: 10, TimeSpan.FromSeconds(60));
        stored.Should().HaveCount(10);
        stored.Select(s => s.Event.Email).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task Hits_are_answered_when_nats_was_never_reachable()
    {
        var keys = await TestTrackingKeys.CreateAsync(postgres.DataSource);
        var settings = KannonTestHost.BaseSettings(postgres.ConnectionString, $"nats://127.0.0.1:{FreePort.Next()}");
        await using var host = await KannonTestHost.StartAsync(new Roles(Tracker: true), settings);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = host.HttpAddress };

        for (var i = 0; i < 5; i++)
        {
            await AnsweredQuicklyAsync(http, $"/o/{keys.Now.CreateOpen(_batchId, "ann@example.org")}", HttpStatusCode.OK);
            await AnsweredQuicklyAsync(http, $"/c/{keys.Now.CreateLink(_batchId, "ann@example.org", "https://example.com/")}", HttpStatusCode.TemporaryRedirect);
        }
    }

    private static async Task AnsweredQuicklyAsync(HttpClient http, string path, HttpStatusCode expected)
    {
        var watch = Stopwatch.StartNew();
        using var response = await http.GetAsync(path);
        watch.Stop();
        response.StatusCode.Should().Be(expected);
        // NATS.Net's request timeout is 10 s: a response that waited on NATS would take that long.
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2), "a hit never waits on NATS");
    }
}
