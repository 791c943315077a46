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
/// What JetStream acked and whether it reaches the consumers when nats-server restarts while publishes are going on
/// (issue #10's "restart NATS" fault). nats-server 2.9 does lose some under load (ADR 0024); a drained stream does not.
/// </summary>
[Trait("Category", "Slow")]
public sealed class StreamRestartTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly NatsFixture _nats = new();

    public Task InitializeAsync() => _nats.InitializeAsync();

    public Task DisposeAsync() => _nats.DisposeAsync();

    /// <summary>
    /// Fails on nats-server 2.9.10 in about 3 runs of 8 (1-11 of 8,000 acked publishes gone, interior deletes in the
    /// stream): the reason Kannon recovers lost outcomes from the Pool (ADR 0024). A probe, so not run by default.
    /// </summary>
    [NatsProbeFact]
    public async Task Every_outcome_acked_around_a_nats_restart_reaches_both_consumers_of_the_stats_stream()
    {
        await ProvisionAsync();

        await using var connection = new NatsConnection(NatsOpts.Default with { Url = _nats.Url });
        var jetStream = new NatsJSContext(connection);
        var acked = new System.Collections.Concurrent.ConcurrentDictionary<string, byte>();
        var published = 0;

        // Sixteen publishers at once, as the Senders and Validators publish, with NATS restarted four times under them.
        async Task PublishAsync(int publisher)
        {
            for (var i = 0; i < 500; i++)
            {
                await PublishUntilAckedAsync(jetStream, $"probe-{publisher}-{i}", acked);
                Interlocked.Increment(ref published);
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
            // As the workers read: batches, each message acked, until a pull comes back empty.
            var seen = new HashSet<string>();
            for (var received = -1; received != 0;)
            {
                received = 0;
                await foreach (var msg in consumer.FetchAsync(new NatsJSFetchOpts { MaxMsgs = 1_000, Expires = TimeSpan.FromSeconds(2) }, NatsRawSerializer<byte[]>.Default))
                {
                    received++;
                    seen.Add(msg.Headers?["Nats-Msg-Id"].ToString() ?? "");
                    await msg.AckAsync();
                }
            }

            var lost = acked.Keys.Except(seen).ToList();
            var state = (await jetStream.GetStreamAsync(Topology.StatsStream)).Info.State;
            output.WriteLine($"{consumerName}: {seen.Count} of {acked.Count} acked outcomes; lost {lost.Count}: {string.Join(", ", lost.Take(20))}; "
                + $"stream holds {state.Messages}, seq {state.FirstSeq}..{state.LastSeq}, deleted {state.NumDeleted}; consumer delivered {consumer.Info.Delivered.StreamSeq}, pending {consumer.Info.NumPending}");
            lost.Should().BeEmpty($"{consumerName} must see every outcome JetStream acked");
        }
    }

    [Fact]
    public async Task Outcomes_published_after_a_restart_of_a_drained_stats_stream_reach_consumers_that_ack_as_they_go()
    {
        // The stats stream is interest-based: once both consumers have acked everything it holds no message. This
        // restarts nats-server at exactly that point, four times, with the consumers working as the Stats worker and
        // the Dispatcher do (fetch, ack), and checks that what is published after each restart still reaches them.
        await ProvisionAsync();

        await using var connection = new NatsConnection(NatsOpts.Default with { Url = _nats.Url });
        var jetStream = new NatsJSContext(connection);
        var acked = new System.Collections.Concurrent.ConcurrentDictionary<string, byte>();
        var seen = new[] { Topology.StatsConsumer, Topology.DispatcherOutcomesConsumer }
            .ToDictionary(c => c, _ => new System.Collections.Concurrent.ConcurrentDictionary<string, byte>());
        using var stop = new CancellationTokenSource();

        async Task ConsumeAsync(string name)
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var consumer = await jetStream.GetConsumerAsync(Topology.StatsStream, name, stop.Token);
                    while (!stop.IsCancellationRequested)
                    {
                        await foreach (var msg in consumer.FetchAsync(new NatsJSFetchOpts { MaxMsgs = 200, Expires = TimeSpan.FromSeconds(1) },
                            NatsRawSerializer<byte[]>.Default, stop.Token))
                        {
                            seen[name][msg.Headers?["Nats-Msg-Id"].ToString() ?? ""] = 0;
                            await msg.AckAsync(cancellationToken: stop.Token);
                        }
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is NatsException or OperationCanceledException or TimeoutException)
                {
                    await Task.Delay(100);
                }
            }
        }

        var consumers = seen.Keys.Select(ConsumeAsync).ToList();
        for (var phase = 0; phase < 5; phase++)
        {
            await Task.WhenAll(Enumerable.Range(0, 16).Select(p => Task.Run(async () =>
            {
                for (var i = 0; i < 60; i++)
                {
                    await PublishUntilAckedAsync(jetStream, $"phase-{phase}-{p}-{i}", acked);
                }
            })));
            var drained = await Eventually.ReturnsAsync(
                () => Task.FromResult(seen.Values.Min(s => acked.Keys.Count(s.ContainsKey))), n => n == acked.Count, TimeSpan.FromSeconds(60),
                $"phase {phase}: both consumers saw every acked outcome");
            if (phase < 4)
            {
                var state = (await jetStream.GetStreamAsync(Topology.StatsStream)).Info.State;
                output.WriteLine($"phase {phase}: {drained} outcomes seen by both; stream holds {state.Messages}, seq {state.FirstSeq}..{state.LastSeq}; restarting nats-server");
                await _nats.RestartAsync();
            }
        }

        await stop.CancelAsync();
        await Task.WhenAll(consumers);
    }

    private async Task ProvisionAsync()
    {
        await using var setup = new NatsConnection(NatsOpts.Default with { Url = _nats.Url });
        await new TopologyProvisioner(new NatsJSContext(setup), Options.Create(new KannonOptions()), NullLogger<TopologyProvisioner>.Instance)
            .EnsureAsync(CancellationToken.None);
    }

    /// <summary>Publishes one outcome under <paramref name="id"/>, as a Sender does: again, same id, until JetStream acks it.</summary>
    private static async Task PublishUntilAckedAsync(NatsJSContext jetStream, string id, System.Collections.Concurrent.ConcurrentDictionary<string, byte> acked)
    {
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
                    return;
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
