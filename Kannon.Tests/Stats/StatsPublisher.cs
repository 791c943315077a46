using Kannon.Messaging;
using Kannon.Stats;
using Kannon.Tests.Infrastructure;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Tests.Stats;

/// <summary>Publishes outcome events to JetStream as the other roles do, each with a fresh Nats-Msg-Id, and watches the Stats consumer.</summary>
internal sealed class StatsPublisher : IAsyncDisposable
{
    private readonly NatsConnection _connection;

    public StatsPublisher(string natsUrl)
    {
        _connection = new NatsConnection(NatsOpts.Default with { Url = natsUrl });
        JetStream = new NatsJSContext(_connection);
    }

    public INatsJSContext JetStream { get; }

    /// <summary>On <c>kannon.stats.&lt;type&gt;</c> unless another subject is given; a new message id, so JetStream stores every copy.</summary>
    public async Task PublishAsync(StatsEvent stat, string? subject = null)
    {
        var ack = await JetStream.PublishAsync(subject ?? Subjects.Stats(Outcomes.TypeOf(stat)), stat, ProtobufSerializer<StatsEvent>.Default,
            new NatsJSPubOpts { MsgId = Guid.NewGuid().ToString("N") });
        ack.EnsureSuccess();
    }

    public async Task PublishAllAsync(IEnumerable<StatsEvent> stats)
    {
        foreach (var stat in stats)
        {
            await PublishAsync(stat);
        }
    }

    public async Task PublishRawAsync(string subject, byte[] payload)
    {
        var ack = await JetStream.PublishAsync(subject, payload, opts: new NatsJSPubOpts { MsgId = Guid.NewGuid().ToString("N") });
        ack.EnsureSuccess();
    }

    public async Task<ConsumerInfo> StatsConsumerAsync() =>
        (await JetStream.GetConsumerAsync(Topology.StatsStream, Topology.StatsConsumer)).Info;

    /// <summary>Until the Stats consumer has answered every message of the stream (acked or terminated).</summary>
    public Task DrainedAsync() => Eventually.ReturnsAsync(StatsConsumerAsync, info => info.NumPending == 0 && info.NumAckPending == 0,
        because: "the Stats consumer answers every message");

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
