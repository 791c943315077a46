using Kannon.Hosting;
using Kannon.Messaging;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Tests.EndToEnd;
using Kannon.Tests.Infrastructure;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Npgsql;

namespace Kannon.Tests.Dispatcher;

public sealed class DispatcherPublishFailureTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task An_envelope_jetstream_did_not_ack_is_published_again_as_the_same_attempt_and_sent_once()
    {
        // No Sender yet: the Envelopes stay in the stream.
        await using var harness = await SendPathHarness.StartAsync(postgres, roles: new Roles(Api: true, Validator: true, Dispatcher: true, Stats: true));
        await using var connection = new NatsConnection(new NatsOpts { Url = harness.Nats.Url });
        var jetStream = new NatsJSContext(connection);
        var stream = await jetStream.GetStreamAsync(Topology.SendingStream);
        var limits = stream.Info.Config;
        // Room for one Envelope: JetStream refuses the others (discard new), as when it is full or away.
        await jetStream.UpdateStreamAsync(limits with { MaxMsgs = 1 });

        var request = new SendHTMLReq { Sender = harness.Sender(), Subject = "s", Html = "<p>Hi</p>" };
        request.Recipients.Add(new[] { "ann", "bob", "cid" }.Select(n => new Recipient { Email = $"{n}@{SendPathHarness.RecipientDomain}" }));
        var batch = (await harness.Mailer.SendHTMLAsync(request)).MessageId;

        var dataSource = (NpgsqlDataSource)harness.Host.Services.GetService(typeof(NpgsqlDataSource))!;
        var rows = await Eventually.ReturnsAsync(() => PoolAsync(dataSource, batch),
            r => r.Count(x => x.Status == "sending") == 1 && r.Count(x => x.Status == "scheduled") == 2, TimeSpan.FromSeconds(30),
            "one Envelope stored, the two refused ones back in the queue");
        rows.Should().OnlyContain(r => r.Attempts == 0, "a publish that may have landed is not a new attempt: its retry keeps the Nats-Msg-Id");

        await jetStream.UpdateStreamAsync(limits);
        await harness.AddHostAsync(new Roles(Sender: true));
        await Eventually.HoldsAsync(async () => await harness.PoolCountAsync(batch) == 0, TimeSpan.FromSeconds(60), "every Delivery ends");
        harness.Receiver.Messages.SelectMany(m => m.To).Should().BeEquivalentTo(
            ["ann@inbox.example", "bob@inbox.example", "cid@inbox.example"], "each sent once");
    }

    private static async Task<List<(string Status, int Attempts)>> PoolAsync(NpgsqlDataSource dataSource, string batch)
    {
        await using var command = dataSource.CreateCommand("SELECT status, send_attempts_cnt FROM sending_pool_emails WHERE message_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = batch });
        var rows = new List<(string, int)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetInt32(1)));
        }

        return rows;
    }
}
