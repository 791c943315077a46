using Kannon.Messaging;
using Kannon.Tests.Infrastructure;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Bounce = Kannon.Protos.Bounce.Types.Bounce;

namespace Kannon.Tests.Suppression;

/// <summary>Reads the report events stored in <c>kannon-bounce</c> with a throwaway consumer that acks nothing.</summary>
internal static class BounceStreamReader
{
    /// <summary>
    /// The stream keeps an event only until every consumer acked it (interest retention): a durable consumer that
    /// never acks keeps them all for <see cref="ReadAsync"/>. Created before the events are published.
    /// </summary>
    public static async Task KeepEventsAsync(string natsUrl)
    {
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = natsUrl });
        var jetStream = new NatsJSContext(connection);
        // The host makes the stream as it starts: wait for it rather than race it.
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                await jetStream.CreateOrUpdateConsumerAsync(Topology.BounceStream, new ConsumerConfig("test-keeper")
                {
                    DurableName = "test-keeper",
                    AckPolicy = ConsumerConfigAckPolicy.Explicit,
                    DeliverPolicy = ConsumerConfigDeliverPolicy.All,
                });
                return true;
            }
            catch (NatsJSApiException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "kannon-bounce exists");
    }

    public static async Task<List<(string? MsgId, Bounce Event)>> ReadAsync(string natsUrl)
    {
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = natsUrl });
        var jetStream = new NatsJSContext(connection);
        var consumer = await jetStream.CreateOrUpdateConsumerAsync(Topology.BounceStream, new ConsumerConfig
        {
            AckPolicy = ConsumerConfigAckPolicy.None,
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
            InactiveThreshold = TimeSpan.FromSeconds(30),
        });
        var found = new List<(string?, Bounce)>();
        try
        {
            await foreach (var msg in consumer.FetchNoWaitAsync(new NatsJSFetchOpts { MaxMsgs = 10_000 }, NatsRawSerializer<byte[]>.Default))
            {
                found.Add((msg.Headers?["Nats-Msg-Id"].ToString(), Bounce.Parser.ParseFrom(msg.Data)));
            }
        }
        finally
        {
            await jetStream.DeleteConsumerAsync(Topology.BounceStream, consumer.Info.Name);
        }

        return found;
    }
}
