using Kannon.Sender;
using Kannon.Stats;
using Kannon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using NATS.Client.KeyValueStore;

namespace Kannon.Tests.Sender;

/// <summary>Crashes, restarts and outages: the send guard keeps every Envelope to at most one SMTP transaction.</summary>
public sealed class SenderRecoveryTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    [Fact]
    public async Task A_sender_that_dies_after_smtp_before_the_ack_is_not_sent_again_and_its_outcome_still_arrives()
    {
        var stuck = new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
        var hooks = new SenderTestHooks
        {
            AfterOutcomeRecorded = async (sequence, cancellationToken) =>
            {
                stuck.TrySetResult(sequence);
                await Task.Delay(Timeout.Infinite, cancellationToken);
            },
        };
        await using var harness = await SenderHarness.StartAsync(nats, services: s => s.AddSingleton(hooks));

        var sequence = await harness.PublishAsync(harness.Envelope("kim@example.net"));
        (await stuck.Task.WaitAsync(TimeSpan.FromSeconds(30))).Should().Be(sequence);
        harness.Receiver.Messages.Should().ContainSingle();
        (await harness.OutcomesAsync()).Should().BeEmpty("it died before publishing");

        await harness.StopSenderAsync();
        await harness.StartSenderAsync();

        var outcome = await harness.OutcomeAsync();
        outcome.Type.Should().Be(StatTypes.Delivered);
        outcome.MsgId.Should().EndWith($":sending:{sequence}");
        harness.Receiver.Messages.Should().ContainSingle("the restarted Sender republished the recorded outcome instead of sending again");
        harness.Receiver.Connections.Should().Be(1);
    }

    [Fact]
    public async Task A_sender_stopped_mid_transaction_reports_an_interrupted_transaction_and_never_sends_twice()
    {
        await using var harness = await SenderHarness.StartAsync(nats);
        harness.Receiver.SlowDelay = TimeSpan.FromMinutes(1);

        await harness.PublishAsync(harness.Envelope("slow-lee@example.net"));
        await Eventually.HoldsAsync(() => Task.FromResult(harness.Receiver.Messages.Count == 1), TimeSpan.FromSeconds(30), "the receiver has the data and has not answered yet");

        await harness.StopSenderAsync();
        await harness.StartSenderAsync();
        var outcome = await harness.OutcomeAsync();
        outcome.Subject.Should().Be("kannon.stats.error", "the Dispatcher retries with a new Envelope");
        outcome.Event.Data.Error.Code.Should().Be(0);
        outcome.Event.Data.Error.Msg.Should().Be(SenderWorker.InterruptedText);
        harness.Receiver.Messages.Should().ContainSingle();
        harness.Receiver.RcptAttempts("slow-lee@example.net").Should().Be(1);
    }

    [Fact]
    public async Task Without_its_send_guard_the_sender_waits_instead_of_sending()
    {
        await using var harness = await SenderHarness.StartAsync(nats);
        await harness.JetStream.DeleteStreamAsync($"KV_{SendGuard.Bucket}");

        await harness.PublishAsync(harness.Envelope("liam@example.net"));
        await Task.Delay(TimeSpan.FromSeconds(2));
        harness.Receiver.Messages.Should().BeEmpty("no guard, no SMTP");

        await new NatsKVContext(harness.JetStream).CreateStoreAsync(new NatsKVConfig(SendGuard.Bucket) { MaxAge = SendGuard.Retention, Storage = NatsKVStorageType.File });

        (await harness.OutcomeAsync(TimeSpan.FromSeconds(30))).Type.Should().Be(StatTypes.Delivered);
        harness.Receiver.Messages.Should().ContainSingle();
    }

    [Fact]
    public async Task The_sender_keeps_consuming_across_a_nats_restart()
    {
        await using var harness = await SenderHarness.StartAsync(nats);
        await harness.PublishAsync(harness.Envelope("mia@example.net"));
        await harness.OutcomesAsync(1);

        await nats.RestartAsync();
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                await harness.PublishAsync(harness.Envelope("noah@example.net"));
                return true;
            }
            catch (Exception e) when (e is NATS.Client.Core.NatsException or TimeoutException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "NATS is back");

        var outcomes = await harness.OutcomesAsync(2, TimeSpan.FromSeconds(60));
        outcomes.Should().OnlyContain(o => o.Type == StatTypes.Delivered);
        harness.Receiver.Messages.Select(m => m.To.Single()).Should().BeEquivalentTo(["mia@example.net", "noah@example.net"]);
    }
}
