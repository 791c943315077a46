using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Kannon.Api;
using Kannon.Data;
using Kannon.Hosting.Embedded;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Protos.Stats.ApiV1;
using Kannon.Sender;
using Kannon.Stats;
using Kannon.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using AdminClient = Kannon.Protos.Admin.ApiV1.Api.ApiClient;
using MailerClient = Kannon.Protos.Mailer.ApiV1.Mailer.MailerClient;

namespace Kannon.Tests.Reliability;

/// <summary>
/// Kannon as an operator runs it, every piece of which a test can kill or restart: a PostgreSQL and a
/// nats-server of its own (restarted on the same data), each role group as its own <c>kannon</c> process
/// (core = api + validator + stats + smtp + tracker, two Dispatchers, two Senders), and a recording SMTP
/// server reached through a DNS MX.
/// </summary>
internal sealed class FaultCluster : IAsyncDisposable
{
    public const string RecipientDomain = "inbox.example";
    public const string Core = "core";
    public const string Dispatcher1 = "dispatcher-1";
    public const string Dispatcher2 = "dispatcher-2";
    public const string Sender1 = "sender-1";
    public const string Sender2 = "sender-2";

    private static readonly Dictionary<string, string[]> RoleArguments = new()
    {
        [Core] = ["--run-api", "--run-validator", "--run-stats", "--run-smtp", "--run-tracker"],
        [Dispatcher1] = ["--run-dispatcher"],
        [Dispatcher2] = ["--run-dispatcher"],
        [Sender1] = ["--run-sender"],
        [Sender2] = ["--run-sender"],
    };

    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"kannon-fault-{Guid.NewGuid():N}");
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, KannonProcess> _running = new();
    private readonly Dictionary<string, int> _httpPorts = [];
    private readonly System.Collections.Concurrent.ConcurrentQueue<KannonProcess> _exited = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(3) };
    private PostgresServer _postgres = null!;
    private Dictionary<string, string> _environment = null!;
    private GrpcChannel _channel = null!;

    public NatsFixture Nats { get; private set; } = null!;

    public RecordingSmtpServer Receiver { get; private set; } = null!;

    public TestDnsServer Dns { get; private set; } = null!;

    public string Domain { get; } = AdminClients.NewDomainName("fault");

    public NpgsqlDataSource Database { get; private set; } = null!;

    public MailerClient Mailer { get; private set; } = null!;

    /// <summary>Everything set up and every process ready. <paramref name="senderAckWait"/> is what a killed Sender's Envelopes wait out.</summary>
    public static async Task<FaultCluster> StartAsync(TimeSpan senderAckWait, bool keepMessages = true)
    {
        var cluster = new FaultCluster();
        try
        {
            await cluster.InitializeAsync(senderAckWait, keepMessages);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    private async Task InitializeAsync(TimeSpan senderAckWait, bool keepMessages)
    {
        _postgres = new PostgresServer(Path.Combine(_directory, "pg"), FreePort.Next(), durable: false);
        await _postgres.StartAsync(CancellationToken.None);
        await using (var admin = new NpgsqlConnection(_postgres.ConnectionString()))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand("CREATE DATABASE kannon", admin);
            await create.ExecuteNonQueryAsync();
        }

        var connectionString = _postgres.ConnectionString("kannon");
        Database = NpgsqlDataSource.Create(connectionString);
        await new MigrationRunner(Database, NullLogger<MigrationRunner>.Instance).ApplyAsync(CancellationToken.None);

        Nats = new NatsFixture();
        await Nats.InitializeAsync();
        Receiver = await RecordingSmtpServer.StartAsync();
        Receiver.KeepMessages = keepMessages;
        Dns = new TestDnsServer().Mx(RecipientDomain, 10, "mx.inbox.example").A("mx.inbox.example", "127.0.0.1");

        var apiPort = FreePort.Next();
        _environment = new Dictionary<string, string>
        {
            ["KANNON_DATABASE_URL"] = connectionString,
            ["KANNON_NATS_URL"] = Nats.Url,
            ["KANNON_SENDER_ACK_WAIT"] = $"{(int)senderAckWait.TotalMilliseconds}ms",
            ["KANNON_API__PORT"] = apiPort.ToString(CultureInfo.InvariantCulture),
            ["KANNON_API__ADDRESS"] = "127.0.0.1",
            ["KANNON_API__ADMIN_TOKEN"] = KannonTestHost.AdminToken,
            ["KANNON_BOUNCE__SECRET"] = KannonTestHost.BounceSecret,
            ["KANNON_HTTP__ADDRESS"] = "127.0.0.1",
            ["KANNON_SMTP__ADDRESS"] = $"127.0.0.1:{FreePort.Next()}",
            ["KANNON_SENDER__HOSTNAME"] = "kannon.test",
            ["KANNON_SENDER__PORT"] = Receiver.Port.ToString(CultureInfo.InvariantCulture),
            ["KANNON_SENDER__DNS_SERVERS__0"] = Dns.Address,
            ["KANNON_TRACKER__BASE_URL"] = "https://track.test",
            ["KANNON_VALIDATOR__POLL_INTERVAL"] = "200ms",
            // Claims of a killed Validator or Dispatcher come back in seconds, not minutes.
            ["KANNON_VALIDATOR__CLAIM_TIMEOUT"] = "5s",
            ["KANNON_DISPATCHER__POLL_INTERVAL"] = "200ms",
            ["KANNON_DISPATCHER__DISPATCHING_TIMEOUT"] = "5s",
            // nats-server 2.9 can lose a message it acked when it restarts (StreamRestartTests): a Delivery whose outcome
            // was lost is dispatched again as the same attempt after this, instead of waiting out the test.
            ["KANNON_DISPATCHER__SENDING_TIMEOUT"] = "45s",
            ["KANNON_DISPATCHER__RETRY_MIN"] = "500ms",
            ["KANNON_DISPATCHER__RETRY_BASE"] = "250ms",
            // Long enough that no Delivery can fail for lack of budget while the faults last.
            ["KANNON_DISPATCHER__RETRY_BUDGET"] = "1h",
        };

        foreach (var role in RoleArguments.Keys)
        {
            _httpPorts[role] = FreePort.Next();
            Start(role);
        }

        // Generous: five .NET processes starting at once on a busy 2-core CI machine.
        await Task.WhenAll(RoleArguments.Keys.Select(r => WaitReadyAsync(r, TimeSpan.FromSeconds(300))));

        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{apiPort}", new GrpcChannelOptions { MaxSendMessageSize = 64 << 20 });
        var adminClient = new AdminClient(_channel.Intercept(m =>
        {
            m.Add(AdminTokenInterceptor.Header, KannonTestHost.AdminToken);
            return m;
        }));
        await adminClient.CreateDomainAsync(new CreateDomainRequest { Domain = Domain });
        var key = await adminClient.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = Domain, Name = "fault" });
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Domain}:{key.Key}"));
        Mailer = new MailerClient(_channel.Intercept(m =>
        {
            m.Add("authorization", $"Basic {basic}");
            return m;
        }));
    }

    public static string Recipient(int i) => $"r{i}@{RecipientDomain}";

    /// <summary>Sends recipients 0..n-1 in SendHTML calls of <paramref name="callSize"/>; returns the Batch ids.</summary>
    public async Task<List<string>> SendAsync(int n, int callSize)
    {
        var batches = new List<string>();
        for (var first = 0; first < n; first += callSize)
        {
            var request = new SendHTMLReq
            {
                Sender = new Kannon.Protos.Mailer.Types.Sender { Email = $"news@{Domain}", Alias = "Faults" },
                Subject = "Hello {{ n }}",
                Html = "<html><body><p>Hello {{ n }}, this message is one of a batch sent through faults.</p></body></html>",
            };
            for (var i = first; i < Math.Min(n, first + callSize); i++)
            {
                request.Recipients.Add(new Recipient { Email = Recipient(i), Fields = { ["n"] = i.ToString(CultureInfo.InvariantCulture) } });
            }

            var response = await Mailer.SendHTMLAsync(request, deadline: DateTime.UtcNow.AddMinutes(2));
            if (response.AcceptedCount != request.Recipients.Count)
            {
                throw new InvalidOperationException($"accepted {response.AcceptedCount} of {request.Recipients.Count}");
            }

            batches.Add(response.MessageId);
        }

        return batches;
    }

    /// <summary>kill -9 and the same role started again at once; the task returned ends when it is ready.</summary>
    public async Task<Task> KillAndRestartAsync(string role)
    {
        var process = _running[role];
        _exited.Enqueue(process); // first: a readiness wait that sees it dead waits for its successor
        process.KillHard();
        await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Start(role);
        return WaitReadyAsync(role, TimeSpan.FromSeconds(180));
    }

    /// <summary>nats-server stopped, then started on the same JetStream store and port; the task returned ends when it is up.</summary>
    public async Task<Task> RestartNatsAsync()
    {
        await Nats.Server.StopAsync();
        return Nats.Server.StartAsync(CancellationToken.None);
    }

    /// <summary>
    /// PostgreSQL stopped with a fast shutdown (SIGINT, as pg_ctl -m fast: sessions cut, a clean checkpoint), then
    /// started on the same data; the task returned ends when it accepts connections.
    /// </summary>
    public async Task<Task> RestartPostgresAsync()
    {
        await _postgres.StopAsync();
        Database.Clear(); // the test's own pooled connections died with the server
        return _postgres.StartAsync(CancellationToken.None);
    }

    /// <summary>Every role process ready again (the stores back, the consumers pulling).</summary>
    public Task WaitAllReadyAsync(TimeSpan within) => Task.WhenAll(_running.Keys.Select(r => WaitReadyAsync(r, within)));

    /// <summary>Distinct recipients the receiver got at least one message for.</summary>
    public int DeliveredRecipients => Receiver.DeliveriesByRecipient.Count;

    /// <summary>Messages beyond the first per recipient.</summary>
    public int Duplicates => Receiver.DeliveriesByRecipient.Values.Sum(n => Math.Max(0, n - 1));

    public async Task<long> PoolCountAsync() => await ScalarAsync("SELECT count(*) FROM sending_pool_emails");

    /// <summary>Deliveries of the Batches that do not have exactly one terminal outcome in the stats table.</summary>
    public async Task<(long WithOne, long WithMore)> TerminalOutcomesAsync()
    {
        await using var command = Database.CreateCommand($"""
            SELECT count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE n > 1) FROM (
                SELECT count(*) AS n FROM stats
                WHERE domain = $1 AND type IN ('{StatTypes.Delivered}', '{StatTypes.Bounced}', '{StatTypes.Rejected}', '{StatTypes.Failed}')
                GROUP BY message_id, email) t
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = Domain });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>For a failure report: what is left in the Pool (status, attempts, age of claim) and which recipients the receiver never got.</summary>
    public async Task<string> LeftoversAsync(int recipients)
    {
        var lines = new System.Text.StringBuilder();
        await using (var command = Database.CreateCommand(
            "SELECT id, email, status, send_attempts_cnt, scheduled_time, claimed_at FROM sending_pool_emails ORDER BY id LIMIT 20"))
        {
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                lines.AppendLine(CultureInfo.InvariantCulture,
                    $"left in the Pool: id {reader.GetInt64(0)} {reader.GetString(1)} {reader.GetString(2)} attempt {reader.GetInt32(3)} scheduled {reader.GetFieldValue<DateTimeOffset>(4):HH:mm:ss.fff} claimed {(reader.IsDBNull(5) ? "-" : reader.GetFieldValue<DateTimeOffset>(5).ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture))}");
            }
        }

        // Every stats row of the first stuck Deliveries: which outcomes the Stats worker saw for them.
        await using (var command = Database.CreateCommand("""
            SELECT s.email, s.type, s.timestamp, s.data::text FROM stats s
            JOIN (SELECT email, message_id FROM sending_pool_emails ORDER BY id LIMIT 5) p ON s.email = p.email AND s.message_id = p.message_id
            ORDER BY s.email, s.timestamp
            """))
        {
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                lines.AppendLine(CultureInfo.InvariantCulture, $"stats of a stuck Delivery: {reader.GetString(0)} {reader.GetString(1)} at {reader.GetFieldValue<DateTimeOffset>(2):HH:mm:ss.fff} {reader.GetString(3)}");
            }
        }

        var missing = Enumerable.Range(0, recipients).Select(Recipient)
            .Where(r => !Receiver.DeliveriesByRecipient.ContainsKey(r)).Take(20).ToList();
        lines.AppendLine(CultureInfo.InvariantCulture, $"never received: {string.Join(", ", missing)}");
        return lines.ToString();
    }

    /// <summary>
    /// For a failure report: what NATS holds about the first Deliveries left in the Pool (their outcome events in
    /// kannon-stats, their send-guard entries), the state of the streams and consumers, and the nats-server's last lines.
    /// </summary>
    public async Task<string> NatsTraceOfLeftoversAsync()
    {
        var lines = new StringBuilder();
        var stuck = new List<(string Email, string Batch)>();
        await using (var command = Database.CreateCommand("SELECT email, message_id FROM sending_pool_emails ORDER BY id LIMIT 5"))
        {
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                stuck.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        if (stuck.Count == 0)
        {
            return "";
        }

        try
        {
            var events = await StatsStreamReader.ReadAsync(Nats.Url, e => stuck.Contains((e.Email, e.MessageId)));
            foreach (var e in events)
            {
                lines.AppendLine(CultureInfo.InvariantCulture, $"in kannon-stats: {e.Event.Email} {e.Type} {e.MsgId} at {e.Event.Timestamp.ToDateTimeOffset():HH:mm:ss.fff}");
            }

            lines.AppendLine(CultureInfo.InvariantCulture, $"{events.Count} events of these Deliveries in kannon-stats");

            await using var connection = new NATS.Client.Core.NatsConnection(NATS.Client.Core.NatsOpts.Default with { Url = Nats.Url });
            var jetStream = new NATS.Client.JetStream.NatsJSContext(connection);
            var store = await new NATS.Client.KeyValueStore.NatsKVContext(jetStream).GetStoreAsync(SendGuard.Bucket);
            var suffixes = stuck.ToDictionary(s => SendGuard.KeyOf(0, Kannon.Envelopes.EnvelopeIds.EmailId(s.Email, s.Batch))[1..], s => s.Email);
            await foreach (var key in store.GetKeysAsync())
            {
                var suffix = key[key.LastIndexOf('.')..];
                if (suffixes.TryGetValue(suffix, out var email))
                {
                    var entry = await store.GetEntryAsync<byte[]>(key, serializer: NATS.Client.Core.NatsRawSerializer<byte[]>.Default);
                    var text = Encoding.UTF8.GetString(entry.Value ?? []);
                    lines.AppendLine(CultureInfo.InvariantCulture, $"send guard {key} ({email}) revision {entry.Revision} at {entry.Created:HH:mm:ss.fff}: {text[..Math.Min(60, text.Length)]}");
                }
            }

            foreach (var name in new[] { Kannon.Messaging.Topology.SendingStream, Kannon.Messaging.Topology.StatsStream })
            {
                var stream = await jetStream.GetStreamAsync(name);
                var state = stream.Info.State;
                lines.AppendLine(CultureInfo.InvariantCulture, $"stream {name}: {state.Messages} messages, seq {state.FirstSeq}..{state.LastSeq}, deleted {state.NumDeleted}");
                await foreach (var consumerName in stream.ListConsumerNamesAsync())
                {
                    var consumer = await stream.GetConsumerAsync(consumerName);
                    var info = consumer.Info;
                    lines.AppendLine(CultureInfo.InvariantCulture,
                        $"consumer {name}/{consumerName}: delivered {info.Delivered.StreamSeq}, ack floor {info.AckFloor.StreamSeq}, pending {info.NumPending}, ack pending {info.NumAckPending}, redelivered {info.NumRedelivered}");
                }
            }
        }
        catch (Exception e)
        {
            lines.AppendLine(CultureInfo.InvariantCulture, $"reading NATS failed: {e.Message}");
        }

        lines.AppendLine("--- nats-server (since its last start) ---").AppendLine(Nats.Server.Tail);
        return lines.ToString();
    }

    /// <summary>For a failure report: every stats row of each Delivery with more than one terminal outcome, oldest first.</summary>
    public async Task<string> HistoryOfDeliveriesWithMoreThanOneOutcomeAsync()
    {
        await using var command = Database.CreateCommand($"""
            SELECT s.email, s.type, s.timestamp, s.data::text FROM stats s JOIN (
                SELECT message_id, email FROM stats
                WHERE domain = $1 AND type IN ('{StatTypes.Delivered}', '{StatTypes.Bounced}', '{StatTypes.Rejected}', '{StatTypes.Failed}')
                GROUP BY message_id, email HAVING count(*) > 1) t ON s.message_id = t.message_id AND s.email = t.email
            ORDER BY s.email, s.timestamp
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = Domain });
        var lines = new System.Text.StringBuilder();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var email = reader.GetString(0);
            lines.AppendLine(CultureInfo.InvariantCulture, $"{email} (received {Receiver.DeliveriesByRecipient.GetValueOrDefault(email)}x): {reader.GetString(1)} at {reader.GetFieldValue<DateTimeOffset>(2):HH:mm:ss.fff} {reader.GetString(3)}");
        }

        return lines.ToString();
    }

    /// <summary>Transactions a Sender found started and never finished (its guard said "sending"): in flight when a fault hit.</summary>
    public async Task<long> InterruptedTransactionsAsync()
    {
        await using var command = Database.CreateCommand($"SELECT count(*) FROM stats WHERE domain = $1 AND type = '{StatTypes.Error}' AND data->'error'->>'msg' = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = Domain });
        command.Parameters.Add(new NpgsqlParameter { Value = SenderWorker.InterruptedText });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The delivered count of the Domain's hourly aggregates, through the Stats API.</summary>
    public async Task<long> AggregatedDeliveredAsync()
    {
        var stats = new StatsApiV1.StatsApiV1Client(_channel.Intercept(m =>
        {
            m.Add(AdminTokenInterceptor.Header, KannonTestHost.AdminToken);
            return m;
        }));
        var result = await stats.GetStatsAggregatedAsync(new GetStatsAggregatedReq
        {
            Domain = Domain,
            FromDate = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow.AddHours(-2)),
            ToDate = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow.AddHours(1)),
        }, deadline: DateTime.UtcNow.AddSeconds(30));
        return result.Stats.Where(s => s.Type == StatTypes.Delivered).Sum(s => s.Count);
    }

    /// <summary>The last lines each process printed (the killed ones too), for a failure's message.</summary>
    public string Logs(int lines = 40) => string.Join(Environment.NewLine,
        _exited.Select(p => ("killed", p)).Concat(_running.Select(r => (r.Key, r.Value)))
            .Select(p => $"--- {p.Item1} pid {p.Item2.Id} ---{Environment.NewLine}{string.Join(Environment.NewLine, p.Item2.Output.Split(Environment.NewLine).TakeLast(lines))}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _running.Values.Concat(_exited).Distinct())
        {
            await process.DisposeAsync();
        }

        _channel?.Dispose();
        _http.Dispose();
        if (Receiver is not null)
        {
            await Receiver.DisposeAsync();
        }

        if (Dns is not null)
        {
            await Dns.DisposeAsync();
        }

        if (Nats is not null)
        {
            await Nats.DisposeAsync();
        }

        if (Database is not null)
        {
            await Database.DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.StopAsync();
            await _postgres.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private void Start(string role)
    {
        var environment = new Dictionary<string, string>(_environment)
        {
            ["KANNON_HTTP__PORT"] = _httpPorts[role].ToString(CultureInfo.InvariantCulture),
        };
        _running[role] = KannonProcess.Start(RoleArguments[role], environment);
    }

    private async Task WaitReadyAsync(string role, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < within)
        {
            var process = _running[role];
            if (process.HasExited && !_exited.Contains(process))
            {
                throw new InvalidOperationException($"{role} exited with {process.ExitCode}:{Environment.NewLine}{process.Output}");
            }

            try
            {
                using var response = await _http.GetAsync(new Uri($"http://127.0.0.1:{_httpPorts[role]}/readyz"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{role} not ready within {within}:{Environment.NewLine}{_running[role].Output}");
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var command = Database.CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
