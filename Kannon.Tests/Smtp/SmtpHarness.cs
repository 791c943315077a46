using System.Net;
using Kannon.Envelopes;
using Kannon.Hosting;
using Kannon.Messaging;
using Kannon.Smtp;
using Kannon.Tests.Infrastructure;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Npgsql;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Tests.Smtp;

/// <summary>An SMTP-role host on a kernel port, one sending domain of its own, and MailKit as the remote MTA that sends reports.</summary>
internal sealed class SmtpHarness : IAsyncDisposable
{
    private SmtpHarness(KannonTestHost host, IPEndPoint endpoint, string domain, string natsUrl)
    {
        Host = host;
        Endpoint = endpoint;
        Domain = domain;
        NatsUrl = natsUrl;
        BatchId = $"msg_{Guid.NewGuid():N}@{domain}";
    }

    public KannonTestHost Host { get; }

    public IPEndPoint Endpoint { get; }

    /// <summary>A sending domain (a <c>domains</c> row) of this harness alone.</summary>
    public string Domain { get; }

    public string NatsUrl { get; }

    /// <summary>A Batch of that domain; its return paths are the addresses the server takes mail for.</summary>
    public string BatchId { get; }

    public static async Task<SmtpHarness> StartAsync(PostgresFixture postgres, NatsFixture nats, IDictionary<string, string?>? settings = null)
    {
        var domain = AdminClients.NewDomainName("bounce");
        await using (var insert = postgres.DataSource.CreateCommand("INSERT INTO domains (domain) VALUES ($1)"))
        {
            insert.Parameters.AddWithValue(domain);
            await insert.ExecuteNonQueryAsync();
        }

        var all = KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url);
        all["smtp:domain"] = "bounces.kannon.test";
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var host = await KannonTestHost.StartAsync(new Roles(Smtp: true), all);
        await host.Services.GetRequiredService<TopologyProvisioner>().EnsureAsync(CancellationToken.None);
        var endpoint = await host.Services.GetRequiredService<SmtpListener>().Started.WaitAsync(TimeSpan.FromSeconds(10));
        return new SmtpHarness(host, endpoint, domain, nats.Url);
    }

    /// <summary>The return path the Dispatcher would have signed for <paramref name="recipient"/> of this Batch.</summary>
    public string ReturnPath(string recipient) => Host.Services.GetRequiredService<ReturnPathSigner>().ReturnPath(recipient, BatchId);

    /// <summary>Sends <paramref name="raw"/> from the null sender, as MTAs send reports.</summary>
    public async Task SendAsync(string raw, params string[] recipients)
    {
        using var client = new SmtpClient();
        client.Timeout = 20_000;
        await client.ConnectAsync(Endpoint.Address.ToString(), Endpoint.Port, SecureSocketOptions.None);
        using var message = await MimeMessage.LoadAsync(new MemoryStream(DeliveryReportMessages.Bytes(raw)));
        await client.SendAsync(message, new MailboxAddress("", ""), recipients.Select(MailboxAddress.Parse));
        await client.DisconnectAsync(quit: true);
    }

    /// <summary>The outcome events stored for this harness's Batch.</summary>
    public Task<List<StreamedOutcome>> OutcomesAsync() => StatsStreamReader.ReadAsync(NatsUrl, ForBatch);

    public Task<List<StreamedOutcome>> OutcomesAsync(Func<StatsEvent, bool> which, int count = 1) =>
        StatsStreamReader.WaitForAsync(NatsUrl, s => ForBatch(s) && which(s), count);

    private bool ForBatch(StatsEvent stat) => stat.MessageId == BatchId;

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
