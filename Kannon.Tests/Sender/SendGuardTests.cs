using Kannon.Sender;
using Kannon.Stats;
using Kannon.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Kannon.Tests.Sender;

/// <summary>
/// The send guard settles each stream message with exactly one outcome: a Sender that finishes a transaction while
/// another (handed the same message after a NATS restart or an ack wait) declares it interrupted gets the first
/// outcome back, so only one of the two is ever published. Real nats-server, two guards as two Sender processes.
/// </summary>
public sealed class SendGuardTests(NatsFixture nats) : IClassFixture<NatsFixture>, IAsyncLifetime
{
    private static readonly DateTimeOffset At = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);
    private NatsConnection _first = null!;
    private NatsConnection _second = null!;
    private SendGuard _holder = null!;
    private SendGuard _other = null!;

    public async Task InitializeAsync()
    {
        _first = new NatsConnection(new NatsOpts { Url = nats.Url });
        _second = new NatsConnection(new NatsOpts { Url = nats.Url });
        _holder = new SendGuard(new NatsJSContext(_first), NullLogger<SendGuard>.Instance);
        _other = new SendGuard(new NatsJSContext(_second), NullLogger<SendGuard>.Instance);
        await _holder.EnsureAsync(CancellationToken.None);
        await _other.EnsureAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _first.DisposeAsync();
        await _second.DisposeAsync();
    }

    [Fact]
    public async Task A_transaction_declared_interrupted_first_is_reported_interrupted_by_the_sender_that_finished_it()
    {
        var key = SendGuard.KeyOf(7, $"{Guid.NewGuid():N}/msg_a@example.com");
        var claim = await _holder.BeginAsync(key, "sender-1", At, CancellationToken.None);
        claim.State.Should().Be(GuardState.Claimed);

        // The message is redelivered to another Sender while the first is still between SMTP and recording.
        var found = await _other.BeginAsync(key, "sender-2", At.AddSeconds(20), CancellationToken.None);
        found.State.Should().Be(GuardState.Interrupted);
        var interrupted = Outcomes.Error("msg_a@example.com", "r@inbox.example", "example.com", At.AddSeconds(20), 0, SenderWorker.InterruptedText);
        (await _other.RecordAsync(key, interrupted, found.Revision, CancellationToken.None)).Should().BeSameAs(interrupted);

        var delivered = Outcomes.Delivered("msg_a@example.com", "r@inbox.example", "example.com", At.AddSeconds(1));
        var settled = await _holder.RecordAsync(key, delivered, claim.Revision, CancellationToken.None);

        settled.Should().Be(interrupted, "the entry was settled first as interrupted, and only that outcome may be published");
        var again = await _holder.BeginAsync(key, "sender-3", At.AddMinutes(1), CancellationToken.None);
        again.State.Should().Be(GuardState.Recorded);
        again.Outcome.Should().Be(interrupted);
    }

    [Fact]
    public async Task Every_envelope_of_one_attempt_meets_the_same_entry_and_finds_the_first_transactions_outcome()
    {
        // ADR 0024: the Dispatcher publishes an attempt again when its outcome was lost; the new Envelope has another
        // stream sequence and must not send again.
        var emailId = $"{Guid.NewGuid():N}/msg_e@example.com";
        var first = SendGuard.KeyOf(100, emailId, Kannon.Messaging.DispatchHeaders.Create(42, 0));
        var again = SendGuard.KeyOf(5_000, emailId, Kannon.Messaging.DispatchHeaders.Create(42, 0));
        again.Should().Be(first);
        SendGuard.KeyOf(5_000, emailId, Kannon.Messaging.DispatchHeaders.Create(42, 1)).Should().NotBe(first, "the next attempt sends");
        SendGuard.KeyOf(5_000, emailId).Should().NotBe(first).And.StartWith("5000.", "an Envelope without dispatch headers is keyed by its sequence");

        var claim = await _holder.BeginAsync(first, "sender-1", At, CancellationToken.None);
        var delivered = Outcomes.Delivered("msg_e@example.com", "r@inbox.example", "example.com", At.AddSeconds(1));
        (await _holder.RecordAsync(first, delivered, claim.Revision, CancellationToken.None)).Should().BeSameAs(delivered);

        var found = await _other.BeginAsync(again, "sender-2", At.AddMinutes(20), CancellationToken.None);

        found.State.Should().Be(GuardState.Recorded);
        found.Outcome.Should().Be(delivered, "the second Envelope republishes the first transaction's outcome, timestamp and all");
    }

    [Fact]
    public async Task A_transaction_recorded_first_is_the_outcome_the_late_declarer_reports()
    {
        var key = SendGuard.KeyOf(8, $"{Guid.NewGuid():N}/msg_b@example.com");
        var claim = await _holder.BeginAsync(key, "sender-1", At, CancellationToken.None);
        var found = await _other.BeginAsync(key, "sender-2", At.AddSeconds(20), CancellationToken.None);
        found.State.Should().Be(GuardState.Interrupted, "it read the entry while it still said sending");

        var delivered = Outcomes.Delivered("msg_b@example.com", "r@inbox.example", "example.com", At.AddSeconds(1));
        (await _holder.RecordAsync(key, delivered, claim.Revision, CancellationToken.None)).Should().BeSameAs(delivered);

        var interrupted = Outcomes.Error("msg_b@example.com", "r@inbox.example", "example.com", At.AddSeconds(20), 0, SenderWorker.InterruptedText);
        var settled = await _other.RecordAsync(key, interrupted, found.Revision, CancellationToken.None);

        settled.Should().Be(delivered, "the transaction's own outcome got there first; the redelivery republishes it");
    }

    [Fact]
    public async Task Recording_again_after_an_answer_was_lost_returns_the_same_outcome_not_an_error()
    {
        var key = SendGuard.KeyOf(10, $"{Guid.NewGuid():N}/msg_d@example.com");
        var claim = await _holder.BeginAsync(key, "sender-1", At, CancellationToken.None);
        var delivered = Outcomes.Delivered("msg_d@example.com", "r@inbox.example", "example.com", At.AddSeconds(1));
        (await _holder.RecordAsync(key, delivered, claim.Revision, CancellationToken.None)).Should().BeSameAs(delivered);

        // The retry after a lost answer meets a revision that moved on: it reads back what it wrote.
        var again = await _holder.RecordAsync(key, delivered, claim.Revision, CancellationToken.None);

        again.Should().NotBeSameAs(delivered).And.Be(delivered, "the entry holds this Sender's own outcome, equal by value");
    }

    [Fact]
    public async Task A_guard_that_cannot_record_in_time_says_so_instead_of_claiming_an_outcome()
    {
        var key = SendGuard.KeyOf(9, $"{Guid.NewGuid():N}/msg_c@example.com");
        var claim = await _holder.BeginAsync(key, "sender-1", At, CancellationToken.None);
        await nats.Server.StopAsync();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var delivered = Outcomes.Delivered("msg_c@example.com", "r@inbox.example", "example.com", At.AddSeconds(1));
            (await _holder.RecordAsync(key, delivered, claim.Revision, timeout.Token)).Should().BeNull();
        }
        finally
        {
            await nats.Server.StartAsync(CancellationToken.None);
        }
    }
}
