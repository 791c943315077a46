using Kannon.Hosting;
using Kannon.Messaging;
using Kannon.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Xunit.Abstractions;

namespace Kannon.Tests.Messaging;

/// <summary>
/// What JetStream acked must reach the consumers, even when nats-server restarts while publishes are going on
/// (issue #10's "restart NATS" fault): an outcome acked and then dropped leaves its Delivery waiting forever.
/// </summary>
[Trait("Category", "Slow")]
public sealed class StreamRestartTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly NatsFixture _nats = new();

    public Task InitializeAsync() => _nats.InitializeAsync();

    public Task DisposeAsync() => _nats.DisposeAsync();

    [Fact]
    public async Task Every_outcome_acked_around_a_nats_restart_reaches_both_consumers_of_the_stats_stream()
    {
        await using (var setup = new NatsConnection(NatsOpts.Default with { Url = _nats.Url }))
        {
            await new TopologyProvisioner(new NatsJSContext(setup), Options.Create(new KannonOptions()), NullLogger<TopologyProvisioner>.Instance)
                .EnsureAsync(CancellationToken.None);
        }

        await using var connection = new NatsConnection(NatsOpts.Default with { Url = _nats.Url });
        var jetStream = new NatsJSContext(connection);
        var acked = new System.Collections.Concurrent.ConcurrentDictionary<string, byte>();
        var published = 0;

        // Sixteen publishers at once, as the Senders and Validators publish, with NATS restarted four times under them.
        async Task PublishAsync(int publisher)
        {
            for (var i = 0; i < 500; i++)
            {
                var id = $"probe-{publisher}-{i}";
                for (var attempt = 0; ; attempt++)
                {
                    try
                    {
                        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                        var ack = await jetStream.PublishAsync(Subjects.Stats("delivered"), new byte[] { 1 }, NatsRawSerializer<byte[]>.Default,
                            new NatsJSPubOpts { MsgId = id }, cancellationToken: timeout.Token);
                        if (ack.Error is null)
                        {
                            acked[id] = 0;
                            Interlocked.Increment(ref published);
                            break;
                        }
                    }
                    catch (Exception e) when (e is NatsException or OperationCanceledException or TimeoutException)
                    {
                    }

                    attempt.Should().BeLessThan(300, "NATS comes back within a minute");
                    await Task.Delay(50);
                }
            }
        }

        var publishers = Enumerable.Range(0, 16).Select(PublishAsync).ToList();
        for (var restart = 1; restart <= 4; restart++)
        {
            var threshold = restart * 1_500;
            await Eventually.HoldsAsync(() => Task.FromResult(Volatile.Read(ref published) >= threshold), TimeSpan.FromSeconds(120), $"{threshold} published");
            await _nats.RestartAsync();
        }

        await Task.WhenAll(publishers);
        foreach (var consumerName in new[] { Topology.StatsConsumer, Topology.DispatcherOutcomesConsumer })
        {
            var consumer = await jetStream.GetConsumerAsync(Topology.StatsStream, consumerName);
            var seen = new HashSet<string>();
            await foreach (var msg in consumer.FetchNoWaitAsync(new NatsJSFetchOpts { MaxMsgs = 10_000 }, NatsRawSerializer<byte[]>.Default))
            {
                seen.Add(msg.Headers?["Nats-Msg-Id"].ToString() ?? "");
            }

            var lost = acked.Keys.Except(seen).ToList();
            output.WriteLine($"{consumerName}: {seen.Count} of {acked.Count} acked outcomes; lost {lost.Count}: {string.Join(", ", lost.Take(20))}");
            lost.Should().BeEmpty($"{consumerName} must see every outcome JetStream acked");
        }
    }
}
