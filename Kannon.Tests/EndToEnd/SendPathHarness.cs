using System.Text;
using Grpc.Core.Interceptors;
using Kannon.Hosting;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Protos.Stats.ApiV1;
using Kannon.Tests.Infrastructure;
using MailerClient = Kannon.Protos.Mailer.ApiV1.Mailer.MailerClient;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Tests.EndToEnd;

/// <summary>
/// The whole send path on real servers: the host (API, Validator, Dispatcher, Sender, Stats) on a fresh
/// database and nats-server, a DNS server that points the recipients' domain at a recording SMTP server.
/// </summary>
internal sealed class SendPathHarness : IAsyncDisposable
{
    public const string RecipientDomain = "inbox.example";

    private readonly List<KannonTestHost> _extraHosts = [];
    private Dictionary<string, string?> _settings = null!;

    public KannonTestHost Host { get; private set; } = null!;

    public TestDnsServer Dns { get; private set; } = null!;

    public NatsFixture Nats { get; private set; } = null!;

    public RecordingSmtpServer Receiver { get; private set; } = null!;

    public string Domain { get; private set; } = "";

    public string DkimPublicKey { get; private set; } = "";

    public MailerClient Mailer { get; private set; } = null!;

    public static async Task<SendPathHarness> StartAsync(PostgresFixture postgres, IDictionary<string, string?>? overrides = null, bool receiverUp = true, Roles? roles = null,
        Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? configureServices = null, string? domainName = null)
    {
        // Its own nats-server: two harnesses sharing streams would deliver each other's Envelopes.
        var nats = new NatsFixture();
        await nats.InitializeAsync();
        var harness = new SendPathHarness
        {
            Nats = nats,
            Receiver = await RecordingSmtpServer.StartAsync(),
            Dns = new TestDnsServer().Mx(RecipientDomain, 10, "mx.inbox.example").A("mx.inbox.example", "127.0.0.1"),
        };
        var database = await postgres.CreateDatabaseAsync("e2e");
        var settings = KannonTestHost.BaseSettings(database, nats.Url);
        settings["sender:port"] = receiverUp ? harness.Receiver.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) : Kannon.Hosting.Embedded.FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["sender:dns_servers:0"] = harness.Dns.Address;
        settings["validator:poll_interval"] = "200ms";
        settings["dispatcher:poll_interval"] = "200ms";
        settings["dispatcher:retry_min"] = "200ms";
        settings["dispatcher:retry_base"] = "100ms";
        settings["dispatcher:retry_budget"] = "60s";
        settings["tracker:base_url"] = "https://track.test";
        foreach (var (name, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[name] = value;
        }

        harness._settings = settings;
        harness.Host = await KannonTestHost.StartAsync(roles ?? new Roles(Api: true, Validator: true, Dispatcher: true, Sender: true, Stats: true), settings, configureServices);
        harness.Domain = domainName ?? AdminClients.NewDomainName("e2e");
        var admin = harness.Host.Admin();
        var domain = await admin.CreateDomainAsync(new CreateDomainRequest { Domain = harness.Domain });
        harness.DkimPublicKey = domain.DkimPubKey;
        var key = await admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = harness.Domain, Name = "e2e" });
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{harness.Domain}:{key.Key}"));
        harness.Mailer = new MailerClient(harness.Host.Channel.Intercept(m =>
        {
            m.Add("authorization", $"Basic {basic}");
            return m;
        }));
        return harness;
    }

    /// <summary>Another process's worth of roles on the same database and NATS (e.g. a second Dispatcher and Sender).</summary>
    public async Task AddHostAsync(Roles roles)
    {
        var settings = new Dictionary<string, string?>(_settings);
        _extraHosts.Add(await KannonTestHost.StartAsync(roles, settings));
    }

    /// <summary>The same settings as environment variables, for a role run as its own <c>kannon</c> process.</summary>
    public Dictionary<string, string> EnvironmentFor(params (string Key, string Value)[] overrides)
    {
        var env = _settings.Where(s => s.Value is not null)
            .ToDictionary(s => "KANNON_" + s.Key.Replace(":", "__", StringComparison.Ordinal).ToUpperInvariant(), s => s.Value!);
        env["KANNON_HTTP__PORT"] = Kannon.Hosting.Embedded.FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (key, value) in overrides)
        {
            env[key] = value;
        }

        return env;
    }

    /// <summary>How many Deliveries of a Batch are still in the Pool.</summary>
    public async Task<long> PoolCountAsync(string batchId)
    {
        var dataSource = (Npgsql.NpgsqlDataSource)Host.Services.GetService(typeof(Npgsql.NpgsqlDataSource))!;
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM sending_pool_emails WHERE message_id = $1");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = batchId });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public Kannon.Protos.Mailer.Types.Sender Sender(string alias = "News") => new() { Email = $"news@{Domain}", Alias = alias };

    /// <summary>Every stat recorded for a Batch, through the Stats API.</summary>
    public async Task<List<StatsEvent>> StatsOfAsync(string batchId)
    {
        var stats = new StatsApiV1.StatsApiV1Client(Host.Channel.Intercept(m =>
        {
            m.Add("x-kannon-admin-token", KannonTestHost.AdminToken);
            return m;
        }));
        var result = new List<StatsEvent>();
        for (uint skip = 0; ; skip += 1000)
        {
            var page = await stats.GetStatsAsync(new GetStatsReq
            {
                Domain = Domain,
                FromDate = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow.AddHours(-1)),
                ToDate = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow.AddHours(1)),
                Skip = skip,
                Take = 1000,
            });
            result.AddRange(page.Stats.Where(s => s.MessageId == batchId));
            if (page.Stats.Count < 1000)
            {
                return result;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _extraHosts)
        {
            await host.DisposeAsync();
        }

        await Host.DisposeAsync();
        await Receiver.DisposeAsync();
        await Dns.DisposeAsync();
        await Nats.DisposeAsync();
    }
}
