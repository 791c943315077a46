using NATS.Client.JetStream.Models;

namespace Kannon.Messaging;

/// <summary>
/// Every stream and durable consumer, declared in one place and created together by whichever module
/// starts first. Streams keep a message until each of their consumers acked it (interest retention),
/// and creating the consumers with the stream means nothing is published before somebody is
/// interested. A full stream refuses new publishes (discard new): the publisher sees the error and
/// retries later; nothing accepted is dropped to make room.
/// </summary>
internal static class Topology
{
    public const string SendingStream = "kannon-sending";
    public const string StatsStream = "kannon-stats";
    public const string BounceStream = "kannon-bounce";

    public const string SenderConsumer = "kannon-sending-pool";
    public const string StatsConsumer = "kannon-stats-logs";
    public const string DispatcherOutcomesConsumer = "dispatcher-outcomes";
    public const string DispatcherBounceConsumer = "dispatcher-bounce";
    public const string StatsBounceConsumer = "stats-bounce";

    /// <summary>
    /// How long an Envelope a Sender took waits for its answer before another Sender gets it: what a killed
    /// Sender's Envelopes sit out. The Sender's progress acks keep a slow transaction from being redelivered
    /// mid-send, so this only has to be well above their interval (a tenth of it). Setting: <c>sender_ack_wait</c>.
    /// </summary>
    public static readonly TimeSpan DefaultSenderAckWait = TimeSpan.FromMinutes(5);

    /// <summary>Deduplication window for Nats-Msg-Id: a retried publish inside it is dropped by the server.</summary>
    public static readonly TimeSpan DuplicateWindow = TimeSpan.FromMinutes(10);

    public static IReadOnlyList<StreamConfig> Streams { get; } =
    [
        Stream(SendingStream, [Subjects.Sending], maxMessages: 200_000, maxBytes: 4L << 30, maxAge: TimeSpan.FromHours(72)),
        Stream(StatsStream, [Subjects.StatsAll], maxMessages: 2_000_000, maxBytes: 2L << 30, maxAge: TimeSpan.FromHours(168)),
        Stream(BounceStream, [Subjects.Bounce], maxMessages: 10_000, maxBytes: 256L << 20, maxAge: TimeSpan.FromHours(168)),
    ];

    /// <summary>The consumers with the default Sender ack wait (their names and streams do not depend on it).</summary>
    public static IReadOnlyList<(string Stream, ConsumerConfig Config)> Consumers { get; } = ConsumersFor(DefaultSenderAckWait);

    public static IReadOnlyList<(string Stream, ConsumerConfig Config)> ConsumersFor(TimeSpan senderAckWait) =>
    [
        (SendingStream, Consumer(SenderConsumer, Subjects.Sending, senderAckWait, [senderAckWait, senderAckWait * 2, senderAckWait * 3], maxAckPending: 2_000)),
        (StatsStream, Consumer(StatsConsumer, Subjects.StatsAll, TimeSpan.FromSeconds(30), null, maxAckPending: 20_000)),
        (StatsStream, Consumer(DispatcherOutcomesConsumer, Subjects.StatsAll, TimeSpan.FromSeconds(30), null, maxAckPending: 20_000)),
        (BounceStream, Consumer(DispatcherBounceConsumer, Subjects.Bounce, TimeSpan.FromSeconds(30), null, maxAckPending: 1_000)),
        (BounceStream, Consumer(StatsBounceConsumer, Subjects.Bounce, TimeSpan.FromSeconds(30), null, maxAckPending: 1_000)),
    ];

    private static StreamConfig Stream(string name, string[] subjects, long maxMessages, long maxBytes, TimeSpan maxAge) =>
        new(name, subjects)
        {
            Retention = StreamConfigRetention.Interest,
            Discard = StreamConfigDiscard.New,
            Storage = StreamConfigStorage.File,
            NumReplicas = 1,
            MaxMsgs = maxMessages,
            MaxBytes = maxBytes,
            MaxAge = maxAge,
            MaxMsgSize = 32 << 20,
            DuplicateWindow = DuplicateWindow,
        };

    private static ConsumerConfig Consumer(string name, string filter, TimeSpan ackWait, TimeSpan[]? backoff, long maxAckPending)
    {
        var config = new ConsumerConfig(name)
        {
            DurableName = name,
            FilterSubject = filter,
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
            // Bounded, so a message nobody can handle ends instead of circling forever.
            MaxDeliver = 100,
            MaxAckPending = maxAckPending,
            AckWait = ackWait,
        };
        if (backoff is not null)
        {
            // The server uses BackOff[0] as the first ack deadline; it must equal AckWait.
            config.Backoff = backoff;
        }

        return config;
    }
}
