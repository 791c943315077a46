using System.Text;
using Kannon.Envelopes;
using Kannon.Hosting;
using Kannon.Messaging;
using Kannon.Protos.Mailer.Types;
using Kannon.Sender;
using Kannon.Stats;
using Kannon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Tests.Sender;

/// <summary>
/// A Sender-only host against the class's nats-server, a test DNS server, and a recording SMTP server
/// on loopback. Tests publish Envelopes to <c>kannon.sending</c> and read outcomes from <c>kannon-stats</c>.
/// </summary>
internal sealed class SenderHarness : IAsyncDisposable
{
    public const string MxHost = "mx.example.net";

    private readonly Dictionary<string, string?> _settings;

    private SenderHarness(TestDnsServer dns, RecordingSmtpServer receiver, NatsConnection connection, Dictionary<string, string?> settings)
    {
        Dns = dns;
        Receiver = receiver;
        Connection = connection;
        JetStream = new NatsJSContext(connection);
        _settings = settings;
    }

    public TestDnsServer Dns { get; }

    public RecordingSmtpServer Receiver { get; }

    public NatsConnection Connection { get; }

    public INatsJSContext JetStream { get; }

    public KannonTestHost? Host { get; private set; }

    /// <summary>A unique Batch id per harness, so tests sharing a nats-server never read each other's outcomes.</summary>
    public string BatchId { get; } = $"msg_{Guid.NewGuid():N}@sender.example";

    /// <summary>Starts everything; <c>example.net</c> has its MX at 127.0.0.1, where the receiver listens.</summary>
    public static async Task<SenderHarness> StartAsync(NatsFixture nats, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null, bool startSender = true, RecordingSmtpServer? receiver = null)
    {
        var dns = new TestDnsServer().Mx("example.net", 10, MxHost).A(MxHost, "127.0.0.1");
        receiver ??= await RecordingSmtpServer.StartAsync();
        var all = new Dictionary<string, string?>
        {
            ["nats_url"] = nats.Url,
            ["http:port"] = "0",
            ["http:address"] = "127.0.0.1",
            ["sender:hostname"] = "kannon.test",
            ["sender:port"] = receiver.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["sender:dns_servers:0"] = dns.Address,
            ["sender:drain_timeout"] = "2s",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var connection = new NatsConnection(NatsOpts.Default with { Url = nats.Url });
        var harness = new SenderHarness(dns, receiver, connection, all);
        if (startSender)
        {
            await harness.StartSenderAsync(services);
        }

        return harness;
    }

    public async Task StartSenderAsync(Action<IServiceCollection>? services = null)
    {
        Host = await KannonTestHost.StartAsync(new Roles(Sender: true), _settings, services);
        // Ready = topology, send guard bucket, consumer being pulled: only then may a test touch them.
        using var http = new HttpClient { BaseAddress = Host.HttpAddress };
        await Eventually.HoldsAsync(async () => (await http.GetAsync("/readyz")).IsSuccessStatusCode, TimeSpan.FromSeconds(20), "the sender is ready");
    }

    public async Task StopSenderAsync()
    {
        if (Host is not null)
        {
            await Host.DisposeAsync();
            Host = null;
        }
    }

    public EmailToSend Envelope(string to, byte[]? body = null, bool shouldRetry = true) => new()
    {
        EmailId = EnvelopeIds.EmailId(to, BatchId),
        From = "Sender <news@sender.example>",
        To = to,
        ReturnPath = $"bump_{EnvelopeIds.Base64Url(to)}+{BatchId}",
        Body = Google.Protobuf.ByteString.CopyFrom(body ?? SampleMessage(to)),
        ShouldRetry = shouldRetry,
    };

    public async Task<ulong> PublishAsync(EmailToSend email)
    {
        var ack = await JetStream.PublishAsync(Subjects.Sending, email, ProtobufSerializer<EmailToSend>.Default);
        ack.EnsureSuccess();
        return ack.Seq;
    }

    public async Task<ulong> PublishRawAsync(byte[] payload)
    {
        var ack = await JetStream.PublishAsync(Subjects.Sending, payload);
        ack.EnsureSuccess();
        return ack.Seq;
    }

    /// <summary>Every outcome stored for this harness's Batch, in stream order.</summary>
    public async Task<List<StoredOutcome>> OutcomesAsync()
    {
        var consumer = await JetStream.CreateOrUpdateConsumerAsync(Topology.StatsStream, new ConsumerConfig
        {
            AckPolicy = ConsumerConfigAckPolicy.None,
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
            InactiveThreshold = TimeSpan.FromSeconds(30),
        });
        var outcomes = new List<StoredOutcome>();
        try
        {
            await foreach (var msg in consumer.FetchNoWaitAsync(new NatsJSFetchOpts { MaxMsgs = 100_000 }, NatsRawSerializer<byte[]>.Default))
            {
                var stat = StatsEvent.Parser.ParseFrom(msg.Data);
                if (stat.MessageId == BatchId)
                {
                    outcomes.Add(new StoredOutcome(msg.Subject, msg.Headers?["Nats-Msg-Id"].ToString(), Outcomes.TypeOf(stat), stat));
                }
            }
        }
        finally
        {
            await JetStream.DeleteConsumerAsync(Topology.StatsStream, consumer.Info.Name);
        }

        return outcomes;
    }

    /// <summary>Waits for the outcomes of <paramref name="count"/> Envelopes of this Batch.</summary>
    public Task<List<StoredOutcome>> OutcomesAsync(int count, TimeSpan? timeout = null) =>
        Eventually.ReturnsAsync(OutcomesAsync, o => o.Count >= count, timeout ?? TimeSpan.FromSeconds(30), $"{count} outcomes published");

    public async Task<StoredOutcome> OutcomeAsync(TimeSpan? timeout = null) => (await OutcomesAsync(1, timeout)).Single();

    /// <summary>A message as the Dispatcher builds them, with the formatting a re-serializer would be tempted to change.</summary>
    public static byte[] SampleMessage(string to) => Encoding.UTF8.GetBytes(string.Join("\r\n",
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=sender.example; s=kannon;",
        "\th=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;",
        "\tb=dGVzdCBzaWduYXR1cmUgdGhhdCBtdXN0IHN1cnZpdmUgdW50b3VjaGVk",
        "From: Sender <news@sender.example>",
        $"To: <{to}>",
        "Subject: =?UTF-8?Q?Caff=C3=A8_and?=",
        " =?UTF-8?Q?_more?=",
        "Date: Mon, 02 Feb 2026 10:00:00 +0000",
        "Message-ID: <abc/def@sender.example>",
        "x-lower-case-header:   spaced   value   ",
        "MIME-Version: 1.0",
        "Content-Type: multipart/alternative; boundary=\"b1\"",
        "",
        "preamble kept",
        "--b1",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
        "",
        "Hello =C3=A8 world",
        ".a line that starts with a dot",
        ".",
        "trailing spaces   ",
        "--b1",
        "Content-Type: text/html; charset=utf-8",
        "Content-Transfer-Encoding: base64",
        "",
        "PGh0bWw+PGJvZHk+SGVsbG88L2JvZHk+PC9odG1sPg==",
        "--b1--",
        "epilogue kept",
        ""));

    public async ValueTask DisposeAsync()
    {
        await StopSenderAsync();
        await Receiver.DisposeAsync();
        await Dns.DisposeAsync();
        await Connection.DisposeAsync();
    }
}

/// <summary>An outcome event as stored in kannon-stats.</summary>
internal sealed record StoredOutcome(string Subject, string? MsgId, string Type, StatsEvent Event);
