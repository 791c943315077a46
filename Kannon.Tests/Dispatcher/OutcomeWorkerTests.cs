using Kannon.Hosting;
using Kannon.Messaging;
using Kannon.Stats;
using Kannon.Tests.Infrastructure;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Npgsql;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Tests.Dispatcher;

public sealed class OutcomeWorkerTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private const string Domain = "outcomes.example.com";
    private const string Batch = "msg_outcomes@outcomes.example.com";
    private KannonTestHost _host = null!;

    public async Task InitializeAsync()
    {
        var settings = KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url);
        settings["dispatcher:retry_min"] = "1h";

        // The host's own Dispatcher must not reclaim the row the reclaim test backdates: it raced the test's own call
        // when its periodic reclaim (first at start) fell between the test's update and its call.
        settings["dispatcher:sending_timeout"] = "24h";
        _host = await KannonTestHost.StartAsync(new Roles(Dispatcher: true), settings);
        await ExecuteAsync($"""
            INSERT INTO domains (domain) VALUES ('{Domain}') ON CONFLICT DO NOTHING;
            INSERT INTO templates (template_id, html, domain) VALUES ('template_o@{Domain}', '<p>x</p>', '{Domain}') ON CONFLICT DO NOTHING;
            INSERT INTO messages (message_id, subject, sender_email, sender_alias, template_id, domain)
                VALUES ('{Batch}', 's', 'a@{Domain}', 'A', 'template_o@{Domain}', '{Domain}') ON CONFLICT DO NOTHING;
            """);
        await ((TopologyProvisioner)_host.Services.GetService(typeof(TopologyProvisioner))!).EnsureAsync(CancellationToken.None);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task An_error_about_an_older_attempt_does_not_move_a_delivery_dispatched_again()
    {
        var id = await InsertSendingAsync("stale@example.org", attempts: 2);
        var marker = await InsertSendingAsync("marker@example.org", attempts: 0);

        await PublishErrorAsync("stale@example.org", id, attempt: 1);
        await Publish(Outcomes.Delivered(Batch, "marker@example.org", Domain, DateTimeOffset.UtcNow), $"marker-{marker}");
        await Eventually.HoldsAsync(async () => (await StateAsync(marker)).Status == "", because: "outcomes published after the stale error are applied");

        (await StateAsync(id)).Should().Be(("sending", 2), "an error about attempt 1 says nothing about attempt 2, which is still in flight");

        await PublishErrorAsync("stale@example.org", id, attempt: 2);

        (await Eventually.ReturnsAsync(() => StateAsync(id), s => s.Status == "scheduled", because: "the current attempt's error reschedules"))
            .Attempts.Should().Be(3);
    }

    /// <summary>
    /// dispatching: the Sender answered before the Dispatcher marked the Envelope sent (slow, or its mark failed).
    /// scheduled: the Dispatcher lost the publish ack (NATS restart) and put the Delivery back at the same attempt; the
    /// Envelope had landed and its republish will be dropped as a duplicate. Either way the error is the only outcome
    /// that attempt gets: dropping it would leave the Delivery waiting for dispatcher.sending_timeout.
    /// </summary>
    [Theory]
    [InlineData("dispatching")]
    [InlineData("scheduled")]
    public async Task An_error_naming_the_current_attempt_reschedules_a_delivery_not_yet_marked_sending(string status)
    {
        var current = await InsertSendingAsync($"quick-{status}@example.org", attempts: 1, status: status);
        var unnamed = await InsertSendingAsync($"unnamed-{status}@example.org", attempts: 0, status: status);
        var older = await InsertSendingAsync($"older-{status}@example.org", attempts: 2, status: status);
        var marker = await InsertSendingAsync($"marker-{status}@example.org", attempts: 0);

        await PublishErrorAsync($"quick-{status}@example.org", current, attempt: 1);
        await PublishErrorAsync($"older-{status}@example.org", older, attempt: 1);
        await Publish(Outcomes.Error(Batch, $"unnamed-{status}@example.org", Domain, DateTimeOffset.UtcNow, 451, "try later"), $"e-unnamed-{unnamed}");
        await Publish(Outcomes.Delivered(Batch, $"marker-{status}@example.org", Domain, DateTimeOffset.UtcNow), $"marker-{marker}");
        await Eventually.HoldsAsync(async () => (await StateAsync(marker)).Status == "", because: "outcomes published after the errors are applied");

        (await StateAsync(current)).Should().Be(("scheduled", 2), "the error names the attempt the Delivery is at: that Envelope was sent and failed");
        (await StateAsync(older)).Should().Be((status, 2), "an error about an earlier attempt moves nothing");
        (await StateAsync(unnamed)).Should().Be((status, 0), "an error that names no attempt cannot move a Delivery that may be on its way");
    }

    [Fact]
    public async Task Delivered_and_bounced_outcomes_remove_the_delivery_and_undecodable_ones_are_terminated()
    {
        var delivered = await InsertSendingAsync("done@example.org", attempts: 0);
        var bounced = await InsertSendingAsync("gone@example.org", attempts: 0);
        var js = new NatsJSContext(_host.Services.GetService(typeof(NatsConnection)) as NatsConnection ?? throw new InvalidOperationException());
        await js.PublishAsync("kannon.stats.delivered", new byte[] { 0xff, 0x01, 0x02 });

        await Publish(Outcomes.Delivered(Batch, "done@example.org", Domain, DateTimeOffset.UtcNow), "d1");
        await Publish(Outcomes.Bounced(Batch, "gone@example.org", Domain, DateTimeOffset.UtcNow, true, 550, "5.1.1 unknown"), "b1");

        await Eventually.HoldsAsync(async () => (await StateAsync(delivered)).Status == "" && (await StateAsync(bounced)).Status == "");
    }

    [Fact]
    public async Task A_delivery_sending_with_no_outcome_past_the_timeout_goes_back_as_the_same_attempt()
    {
        // ADR 0024: its Envelope or outcome was lost; the same attempt meets the same send-guard entry, so it is never sent twice.
        var stale = await InsertSendingAsync("lost-outcome@example.org", attempts: 1);
        var fresh = await InsertSendingAsync("in-flight@example.org", attempts: 1);
        await ExecuteAsync($"UPDATE sending_pool_emails SET claimed_at = now() - interval '20 minutes' WHERE id = {stale}");

        var reclaimed = await new Kannon.Dispatcher.DispatchPool(postgres.DataSource).ReclaimSendingAsync(TimeSpan.FromMinutes(15), CancellationToken.None);

        reclaimed.Should().Be(1);
        (await StateAsync(stale)).Should().Be(("scheduled", 1), "the same attempt, so the same Nats-Msg-Id and the same send-guard key");
        (await StateAsync(fresh)).Should().Be(("sending", 1));
    }

    private async Task<long> InsertSendingAsync(string email, int attempts, string status = "sending")
    {
        await using var command = postgres.DataSource.CreateCommand(
            "INSERT INTO sending_pool_emails (email, message_id, domain, status, send_attempts_cnt, original_scheduled_time, claimed_at, scheduled_time) " +
            // Due tomorrow: the host's own Dispatcher must not claim a scheduled row while the test looks at it.
            "VALUES ($1, $2, $3, $5, $4, now(), now(), now() + interval '1 day') RETURNING id");
        command.Parameters.Add(new NpgsqlParameter { Value = email });
        command.Parameters.Add(new NpgsqlParameter { Value = Batch });
        command.Parameters.Add(new NpgsqlParameter { Value = Domain });
        command.Parameters.Add(new NpgsqlParameter { Value = attempts });
        command.Parameters.Add(new NpgsqlParameter { Value = status });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private Task PublishErrorAsync(string email, long id, int attempt) =>
        Publish(Outcomes.Error(Batch, email, Domain, DateTimeOffset.UtcNow, 451, "try later"), $"e-{id}-{attempt}", DispatchHeaders.Create(id, attempt));

    private async Task Publish(StatsEvent stat, string msgId, NatsHeaders? headers = null)
    {
        var publisher = (EventPublisher)_host.Services.GetService(typeof(EventPublisher))!;
        await publisher.PublishAsync(Subjects.Stats(Outcomes.TypeOf(stat)), stat, msgId, CancellationToken.None, headers);
    }

    private async Task<(string Status, int Attempts)> StateAsync(long id)
    {
        await using var command = postgres.DataSource.CreateCommand("SELECT status, send_attempts_cnt FROM sending_pool_emails WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (reader.GetString(0), reader.GetInt32(1)) : ("", -1);
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }
}
