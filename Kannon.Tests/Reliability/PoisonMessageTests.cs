using System.Collections.Concurrent;
using System.Text.Json;
using Google.Protobuf;
using Kannon.Envelopes;
using Kannon.Hosting;
using Kannon.Messaging;
using Kannon.Protos.Mailer.Types;
using Kannon.Stats;
using Kannon.Tests.Infrastructure;
using Kannon.Tests.Sender;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Kannon.Tests.Reliability;

/// <summary>
/// Bytes that are not protobuf, published on each stream a worker consumes, in front of a valid message: every
/// consumer terminates the poison at its first delivery with a logged reason (no redelivery, no hot loop), then
/// handles the valid message, and the stream lets both go. One host runs every consuming worker (Sender, Stats,
/// Dispatcher's outcome and suppression workers, the Stats bounce-evidence worker). To cover a new consumer, add its stream to <see cref="Cases"/>.
/// </summary>
public sealed class PoisonMessageTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private const string TerminatedAdvisories = "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.>";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly CapturingLoggerProvider _logs = new();
    private readonly ConcurrentQueue<TerminatedAdvisory> _terminated = new();
    private readonly CancellationTokenSource _stop = new();
    private TestDnsServer _dns = null!;
    private RecordingSmtpServer _receiver = null!;
    private NatsConnection _connection = null!;
    private KannonTestHost _host = null!;
    private Task _advisories = Task.CompletedTask;

    public static TheoryData<string> Cases => [Subjects.Sending, Subjects.Stats(StatTypes.Delivered), Subjects.Bounce];

    public async Task InitializeAsync()
    {
        _dns = new TestDnsServer().Mx("example.net", 10, SenderHarness.MxHost).A(SenderHarness.MxHost, "127.0.0.1");
        _receiver = await RecordingSmtpServer.StartAsync();
        _connection = new NatsConnection(NatsOpts.Default with { Url = nats.Url });
        await _connection.ConnectAsync();
        var subscribed = new TaskCompletionSource();
        _advisories = Task.Run(async () =>
        {
            await using var subscription = await _connection.SubscribeCoreAsync<byte[]>(TerminatedAdvisories, cancellationToken: _stop.Token);
            subscribed.SetResult();
            await foreach (var advisory in subscription.Msgs.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                _terminated.Enqueue(JsonSerializer.Deserialize<TerminatedAdvisory>(advisory.Data!)!);
            }
        });
        await subscribed.Task.WaitAsync(Patience);

        var settings = KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url);
        settings["sender:port"] = _receiver.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["sender:dns_servers:0"] = _dns.Address;
        settings["sender:drain_timeout"] = "2s";
        _host = await KannonTestHost.StartAsync(new Roles(Sender: true, Stats: true, Dispatcher: true), settings,
            services => services.AddSingleton<ILoggerProvider>(_logs));
        await _host.Services.GetRequiredService<TopologyProvisioner>().EnsureAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _stop.CancelAsync();
        await _advisories.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _connection.DisposeAsync();
        await _receiver.DisposeAsync();
        await _dns.DisposeAsync();
        _stop.Dispose();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_poison_message_is_terminated_once_with_a_logged_reason_and_the_next_message_is_handled(string subject)
    {
        var (stream, consumers, valid) = Case(subject);
        var js = new NatsJSContext(_connection);
        var before = _logs.Records.Count;

        // Field 1, length-delimited, claims 0x7FFFFFFF bytes; two follow.
        var poison = await PublishAsync(js, subject, [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x41, 0x42]);
        var next = await PublishAsync(js, subject, valid());

        foreach (var (consumer, _) in consumers)
        {
            await Eventually.ReturnsAsync(async () => (await js.GetConsumerAsync(stream, consumer)).Info,
                info => info.AckFloor.StreamSeq >= next && info.NumAckPending == 0, Patience, $"{consumer} answers the poison and the message after it");
            var advisory = await Eventually.ReturnsAsync(() => Task.FromResult(_terminated.Where(a => a.Consumer == consumer && a.StreamSeq == poison).ToList()),
                found => found.Count > 0, Patience, $"{consumer} terminates the poison");
            advisory.Should().ContainSingle().Which.Deliveries.Should().Be(1, $"{consumer} terminates at the first delivery, never redelivers");
        }

        var logged = _logs.Records.Skip(before).Where(r => r.Level >= LogLevel.Warning).ToList();
        foreach (var (consumer, category) in consumers)
        {
            logged.Should().Contain(r => r.Category == category && r.Message.Contains("terminated", StringComparison.OrdinalIgnoreCase),
                $"{consumer}'s worker logs why it terminated the poison");
        }

        await Eventually.ReturnsAsync(async () => (await js.GetStreamAsync(stream)).Info.State,
            state => state.FirstSeq > next || state.Messages == 0, Patience, $"{stream} keeps neither message once every consumer answered");
    }

    /// <summary>
    /// The stream behind a subject, its consumers (with the log category of the worker that reads each), and a message
    /// the workers can handle.
    /// </summary>
    private (string Stream, (string Consumer, string Category)[] Consumers, Func<byte[]> Valid) Case(string subject) => subject switch
    {
        Subjects.Sending => (Topology.SendingStream, [(Topology.SenderConsumer, typeof(Kannon.Sender.SenderWorker).FullName!)], ValidEnvelope),
        _ when subject.StartsWith(Subjects.StatsPrefix, StringComparison.Ordinal) => (Topology.StatsStream,
            [(Topology.StatsConsumer, typeof(StatsWorker).FullName!), (Topology.DispatcherOutcomesConsumer, typeof(Kannon.Dispatcher.OutcomeWorker).FullName!)],
            ValidOutcome),
        Subjects.Bounce => (Topology.BounceStream,
            [(Topology.DispatcherBounceConsumer, typeof(Kannon.Dispatcher.SuppressionWorker).FullName!), (Topology.StatsBounceConsumer, typeof(Kannon.Stats.BounceEvidenceWorker).FullName!)],
            ValidBounce),
        _ => throw new ArgumentOutOfRangeException(nameof(subject), subject, "no case for this subject"),
    };

    private static byte[] ValidEnvelope()
    {
        var batchId = $"msg_{Guid.NewGuid():N}@sender.example";
        const string to = "after-poison@example.net";
        return new EmailToSend
        {
            EmailId = EnvelopeIds.EmailId(to, batchId),
            From = "Sender <news@sender.example>",
            To = to,
            ReturnPath = EnvelopeIds.ReturnPath(to, batchId, "AAAAAAAAAAAAAAAAAAAAAA"),
            Body = Google.Protobuf.ByteString.CopyFrom(SenderHarness.SampleMessage(to)),
            ShouldRetry = true,
        }.ToByteArray();
    }

    private static byte[] ValidOutcome() =>
        Outcomes.Delivered($"msg_{Guid.NewGuid():N}@sender.example", "after-poison@example.net", "sender.example", DateTimeOffset.UtcNow).ToByteArray();

    // A delay report: read and acked by both workers, suppresses nothing, needs no stat.
    private static byte[] ValidBounce() => new Kannon.Protos.Bounce.Types.Bounce
    {
        MessageId = $"msg_{Guid.NewGuid():N}@sender.example",
        Email = "after-poison@example.net",
        Domain = "sender.example",
        Kind = Kannon.Protos.Bounce.Types.BounceKind.Dsn,
        Action = "delayed",
        Status = "4.4.1",
        ArrivedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
    }.ToByteArray();

    private static async Task<ulong> PublishAsync(NatsJSContext js, string subject, byte[] payload)
    {
        var ack = await js.PublishAsync(subject, payload, opts: new NatsJSPubOpts { MsgId = Guid.NewGuid().ToString("N") });
        ack.EnsureSuccess();
        return ack.Seq;
    }

    /// <summary>The JSON nats-server publishes on <c>$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.&lt;stream&gt;.&lt;consumer&gt;</c>.</summary>
    private sealed record TerminatedAdvisory(
        [property: System.Text.Json.Serialization.JsonPropertyName("stream")] string Stream,
        [property: System.Text.Json.Serialization.JsonPropertyName("consumer")] string Consumer,
        [property: System.Text.Json.Serialization.JsonPropertyName("stream_seq")] ulong StreamSeq,
        [property: System.Text.Json.Serialization.JsonPropertyName("deliveries")] ulong Deliveries);
}
