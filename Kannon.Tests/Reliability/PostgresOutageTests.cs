using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Kannon.Api;
using Kannon.Hosting;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Tests.Infrastructure;
using Npgsql;

namespace Kannon.Tests.Reliability;

/// <summary>
/// An API whose PostgreSQL goes away and comes back: a call during the outage is refused at once with UNAVAILABLE
/// (the caller retries), stores nothing, and the same call succeeds once the server is back, with no API restart.
/// </summary>
public sealed class PostgresOutageTests(NatsFixture nats) : IClassFixture<NatsFixture>, IAsyncLifetime
{
    /// <summary>Far above a refused connection (milliseconds), far below a hang: a call still running then has hung.</summary>
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(20);

    private DedicatedPostgres _postgres = null!;
    private KannonTestHost _host = null!;
    private string _domain = "";
    private Kannon.Protos.Mailer.ApiV1.Mailer.MailerClient _mailer = null!;

    public async Task InitializeAsync()
    {
        _postgres = await DedicatedPostgres.StartAsync();
        _host = await KannonTestHost.StartAsync(new Roles(Api: true), KannonTestHost.BaseSettings(_postgres.ConnectionString, nats.Url));
        _domain = AdminClients.NewDomainName("outage");
        var admin = _host.Admin();
        await admin.CreateDomainAsync(new CreateDomainRequest { Domain = _domain });
        var key = await admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = _domain, Name = "outage" });
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_domain}:{key.Key}"));
        _mailer = new Kannon.Protos.Mailer.ApiV1.Mailer.MailerClient(_host.Channel.Intercept(m =>
        {
            m.Add(ApiKeyAuthenticator.Header, $"Basic {basic}");
            return m;
        }));
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    [Fact]
    public async Task A_send_during_an_outage_is_unavailable_at_once_stores_nothing_and_succeeds_once_the_database_is_back()
    {
        // Before: the pool holds open connections, which the outage will cut.
        (await SendAsync()).AcceptedCount.Should().Be(3);

        await _postgres.StopAsync();
        var duringOutage = async () => await SendAsync();
        var refusals = new List<RpcException>();
        for (var i = 0; i < 3; i++)
        {
            // Once for each kind of connection a call may get: a cut pooled one, then none at all.
            refusals.Add((await duringOutage.Should().ThrowAsync<RpcException>()).Which);
        }

        refusals.Should().AllSatisfy(r =>
        {
            r.StatusCode.Should().Be(StatusCode.Unavailable, r.Status.Detail);
            r.Status.Detail.Should().Be(DatabaseUnavailableInterceptor.Message);
        });

        await _postgres.StartAgainAsync();
        var after = await SendAsync();

        after.AcceptedCount.Should().Be(3);
        (await CountAsync("SELECT count(*) FROM messages WHERE domain = $1")).Should().Be(2, "two sends succeeded; the refused ones stored no Batch");
        (await CountAsync("SELECT count(*) FROM sending_pool_emails WHERE domain = $1")).Should().Be(6, "no refused send left a Delivery");
    }

    private async Task<SendRes> SendAsync()
    {
        var request = new SendHTMLReq
        {
            Sender = new Kannon.Protos.Mailer.Types.Sender { Email = $"news@{_domain}", Alias = "News" },
            Subject = "Outage",
            Html = "<p>Hello {{ name }}</p>",
        };
        request.Recipients.Add(new Recipient { Email = "ann@example.org", Fields = { ["name"] = "Ann" } });
        request.Recipients.Add(new Recipient { Email = "bob@example.org" });
        request.Recipients.Add(new Recipient { Email = "cid@example.org" });
        return await _mailer.SendHTMLAsync(request, deadline: DateTime.UtcNow.Add(CallDeadline));
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_postgres.ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = _domain });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
