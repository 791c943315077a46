using System.Text;
using Grpc.Core;
using Kannon.Api;
using Kannon.Hosting;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Tests.Infrastructure;
using Npgsql;
using AdminApi = Kannon.Protos.Admin.ApiV1.Api;

namespace Kannon.Tests.Api;

public sealed class ApiKeyAuthenticationTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private KannonTestHost _host = null!;
    private AdminApi.ApiClient _admin = null!;
    private Kannon.Protos.Mailer.ApiV1.Mailer.MailerClient _mailer = null!;

    public async Task InitializeAsync()
    {
        _host = await KannonTestHost.StartAsync(
            new Roles(Api: true),
            KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url),
            configureApp: EchoMailer.Map);
        _admin = _host.Admin();
        _mailer = new Kannon.Protos.Mailer.ApiV1.Mailer.MailerClient(_host.Channel);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_key_authenticates_mailer_calls_for_its_domain_until_it_is_deactivated()
    {
        var domain = AdminClients.NewDomainName();
        await _admin.CreateDomainAsync(new CreateDomainRequest { Domain = domain });
        var created = await _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = domain, Name = "lifecycle" });

        var listed = (await _admin.ListAPIKeysAsync(new ListAPIKeysRequest { Domain = domain })).ApiKeys.Should().ContainSingle().Subject;
        var got = (await _admin.GetAPIKeyAsync(new GetAPIKeyRequest { Domain = domain, Id = created.ApiKey.Id })).ApiKey;
        listed.Key.Should().Be(created.Key[..8] + "...");
        got.Should().Be(listed);

        var html = await _mailer.SendHTMLAsync(new SendHTMLReq(), Basic(domain, created.Key));
        var template = await _mailer.SendTemplateAsync(new SendTemplateReq(), Basic(domain, created.Key));
        html.MessageId.Should().Be(domain, "the service sees the key's domain");
        html.TemplateId.Should().Be(created.ApiKey.Id, "and the key's id");
        template.MessageId.Should().Be(domain);

        await _admin.DeactivateAPIKeyAsync(new DeactivateAPIKeyRequest { Domain = domain, Id = created.ApiKey.Id });

        await ShouldBeRefused(Basic(domain, created.Key));
    }

    [Fact]
    public async Task An_expired_key_is_refused()
    {
        var (domain, key, id) = await NewKeyAsync();
        await _mailer.SendHTMLAsync(new SendHTMLReq(), Basic(domain, key));

        await using var command = postgres.DataSource.CreateCommand("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        (await command.ExecuteNonQueryAsync()).Should().Be(1);

        await ShouldBeRefused(Basic(domain, key));
    }

    [Fact]
    public async Task A_key_of_one_domain_cannot_authenticate_as_another()
    {
        var (domainA, keyA, _) = await NewKeyAsync();
        var (domainB, keyB, _) = await NewKeyAsync();

        await ShouldBeRefused(Basic(domainB, keyA));
        await ShouldBeRefused(Basic(domainA, keyB));
        (await _mailer.SendHTMLAsync(new SendHTMLReq(), Basic(domainB, keyB))).MessageId.Should().Be(domainB);
    }

    [Fact]
    public async Task Malformed_authorization_headers_are_all_refused_with_the_same_message()
    {
        var (domain, key, _) = await NewKeyAsync();
        string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

        string?[] headers =
        [
            null,
            "",
            "Basic",
            "Basic ",
            "Bearer " + B64($"{domain}:{key}"),
            $"{domain}:{key}",
            "Basic " + $"{domain}:{key}",
            "Basic !!!not-base64!!!",
            "Basic " + B64($"{domain}{key}"),
            "Basic " + B64($"{domain}:{key}:extra"),
            "Basic " + B64($":{key}"),
            "Basic " + B64($"{domain}:"),
            "Basic " + B64($"{domain.ToUpperInvariant()}:{key}"),
            "Basic " + B64($"{domain}:{key.ToLowerInvariant()}"),
            "Basic " + B64($"{domain}:{key[..^1]}"),
            "Basic " + Convert.ToBase64String([0xff, 0xfe, (byte)':', 0xc3]),
        ];

        foreach (var header in headers)
        {
            var metadata = new Metadata();
            if (header is not null)
            {
                metadata.Add(ApiKeyAuthenticator.Header, header);
            }

            await ShouldBeRefused(metadata, because: header ?? "(no header)");
        }

        (await _mailer.SendHTMLAsync(new SendHTMLReq(), Basic(domain, key))).MessageId.Should().Be(domain, "the right key still works");
    }

    [Fact]
    public async Task The_basic_scheme_name_is_case_insensitive()
    {
        var (domain, key, _) = await NewKeyAsync();
        var metadata = new Metadata { { "authorization", "basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{domain}:{key}")) } };

        (await _mailer.SendHTMLAsync(new SendHTMLReq(), metadata)).MessageId.Should().Be(domain);
    }

    [Fact]
    public async Task The_operator_token_does_not_authenticate_mailer_calls()
    {
        var (domain, _, _) = await NewKeyAsync();
        var metadata = new Metadata
        {
            { AdminTokenInterceptor.Header, KannonTestHost.AdminToken },
            { "authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{domain}:{KannonTestHost.AdminToken}")) },
        };

        await ShouldBeRefused(metadata);
    }

    [Fact]
    public void The_authenticated_sender_is_absent_on_a_call_that_was_never_authenticated()
    {
        var context = new UnauthenticatedCallContext();

        var read = () => context.GetAuthenticatedSender();

        read.Should().Throw<InvalidOperationException>().WithMessage("*ApiKeyAuthenticator*");
    }

    private static Metadata Basic(string domain, string key) =>
        new() { { "authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{domain}:{key}")) } };

    private async Task ShouldBeRefused(Metadata metadata, string because = "")
    {
        var send = async () => await _mailer.SendHTMLAsync(new SendHTMLReq(), metadata);

        var refused = (await send.Should().ThrowAsync<RpcException>(because)).Which;
        refused.StatusCode.Should().Be(StatusCode.Unauthenticated, because);
        refused.Status.Detail.Should().Be("invalid or wrong auth", because);
    }

    private async Task<(string Domain, string Key, string Id)> NewKeyAsync()
    {
        var domain = AdminClients.NewDomainName();
        await _admin.CreateDomainAsync(new CreateDomainRequest { Domain = domain });
        var created = await _admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = domain, Name = "test" });
        return (domain, created.Key, created.ApiKey.Id);
    }
}
