using Kannon.Messaging;
using Kannon.Stats;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Tests.Infrastructure;

/// <summary>Reads the outcome events stored in <c>kannon-stats</c> with a throwaway consumer that acks nothing (the real consumers still see them).</summary>
internal static class StatsStreamReader
{
    public static async Task<List<StreamedOutcome>> ReadAsync(string natsUrl, Func<StatsEvent, bool> which)
    {
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = natsUrl });
        var jetStream = new NatsJSContext(connection);
        var consumer = await jetStream.CreateOrUpdateConsumerAsync(Topology.StatsStream, new ConsumerConfig
        {
            AckPolicy = ConsumerConfigAckPolicy.None,
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
            InactiveThreshold = TimeSpan.FromSeconds(30),
        });
        var found = new List<StreamedOutcome>();
        try
        {
            await foreach (var msg in consumer.FetchNoWaitAsync(new NatsJSFetchOpts { MaxMsgs = 100_000 }, NatsRawSerializer<byte[]>.Default))
            {
                var stat = StatsEvent.Parser.ParseFrom(msg.Data);
                if (which(stat))
                {
                    found.Add(new StreamedOutcome(msg.Subject, msg.Headers?["Nats-Msg-Id"].ToString(), Outcomes.TypeOf(stat), stat));
                }
            }
        }
        finally
        {
            await jetStream.DeleteConsumerAsync(Topology.StatsStream, consumer.Info.Name);
        }

        return found;
    }

    /// <summary>Waits until at least <paramref name="count"/> matching events are stored, and returns all of them.</summary>
    public static Task<List<StreamedOutcome>> WaitForAsync(string natsUrl, Func<StatsEvent, bool> which, int count = 1, TimeSpan? timeout = null) =>
        Eventually.ReturnsAsync(() => ReadAsync(natsUrl, which), found => found.Count >= count, timeout ?? TimeSpan.FromSeconds(30),
            $"{count} matching outcome events stored in kannon-stats");
}

/// <summary>An outcome event as stored in kannon-stats, with the subject and Nats-Msg-Id it was published under.</summary>
internal sealed record StreamedOutcome(string Subject, string? MsgId, string Type, StatsEvent Event);
