using Kannon.Messaging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using BounceEvent = Kannon.Protos.Bounce.Types.Bounce;

namespace Kannon.Tests.Infrastructure;

/// <summary>Reads the events stored in <c>kannon-bounce</c> with a throwaway consumer that acks nothing (the real consumers still see them).</summary>
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

    /// <summary>Every stored event, in stream order.</summary>
    public static Task<List<StreamedBounce>> ReadAsync(string natsUrl) => ReadAsync(natsUrl, _ => true);

    public static async Task<List<StreamedBounce>> ReadAsync(string natsUrl, Func<BounceEvent, bool> which)
    {
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = natsUrl });
        var jetStream = new NatsJSContext(connection);
        var consumer = await jetStream.CreateOrUpdateConsumerAsync(Topology.BounceStream, new ConsumerConfig
        {
            AckPolicy = ConsumerConfigAckPolicy.None,
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
            InactiveThreshold = TimeSpan.FromSeconds(30),
        });
        var found = new List<StreamedBounce>();
        try
        {
            await foreach (var msg in consumer.FetchNoWaitAsync(new NatsJSFetchOpts { MaxMsgs = 100_000 }, NatsRawSerializer<byte[]>.Default))
            {
                var bounce = BounceEvent.Parser.ParseFrom(msg.Data);
                if (which(bounce))
                {
                    found.Add(new StreamedBounce(msg.Subject, msg.Headers?["Nats-Msg-Id"].ToString(), bounce));
                }
            }
        }
        finally
        {
            await jetStream.DeleteConsumerAsync(Topology.BounceStream, consumer.Info.Name);
        }

        return found;
    }

    /// <summary>Waits until at least <paramref name="count"/> matching events are stored, and returns all of them.</summary>
    public static Task<List<StreamedBounce>> WaitForAsync(string natsUrl, Func<BounceEvent, bool> which, int count = 1, TimeSpan? timeout = null) =>
        Eventually.ReturnsAsync(() => ReadAsync(natsUrl, which), found => found.Count >= count, timeout ?? TimeSpan.FromSeconds(30),
            $"{count} matching events stored in kannon-bounce");
}

/// <summary>A Bounce event as stored in kannon-bounce, with the subject and Nats-Msg-Id it was published under.</summary>
internal sealed record StreamedBounce(string Subject, string? MsgId, BounceEvent Event);
