using System.Text;
using Grpc.Core;
using Kannon.Api;
using Kannon.Hosting;
using Kannon.Hosting.Embedded;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Tests.Infrastructure;

namespace Kannon.Tests.Api;

/// <summary>An API whose database does not answer: nothing listens on its port.</summary>
public sealed class DatabaseUnavailableTests(NatsFixture nats) : IClassFixture<NatsFixture>, IAsyncLifetime
{
    private KannonTestHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await KannonTestHost.StartAsync(
            new Roles(Api: true),
            KannonTestHost.BaseSettings($"postgres://kannon:kannon@127.0.0.1:{FreePort.Next()}/kannon", nats.Url),
            configureApp: EchoMailer.Map);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Admin_calls_are_unavailable_with_a_message_not_unknown()
    {
        var admin = _host.Admin();

        var list = async () => await admin.GetDomainsAsync(new GetDomainsReq());
        var create = async () => await admin.CreateDomainAsync(new CreateDomainRequest { Domain = AdminClients.NewDomainName() });

        foreach (var call in new Func<Task>[] { list, create })
        {
            var refused = (await call.Should().ThrowAsync<RpcException>()).Which;
            refused.StatusCode.Should().Be(StatusCode.Unavailable);
            refused.Status.Detail.Should().Be(DatabaseUnavailableInterceptor.Message);
        }
    }

    [Fact]
    public async Task Bad_input_is_still_invalid_argument_without_a_database()
    {
        var create = async () => await _host.Admin().CreateDomainAsync(new CreateDomainRequest { Domain = "Not Canonical" });

        (await create.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.InvalidArgument);
    }

    [Fact]
    public async Task The_operator_token_is_checked_before_the_database_is_needed()
    {
        var list = async () => await _host.Admin("wrong-token-of-plenty-length").GetDomainsAsync(new GetDomainsReq());

        (await list.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.Unauthenticated);
    }

    [Fact]
    public async Task The_authenticator_looks_the_key_up_even_for_a_malformed_header()
    {
        var mailer = new Kannon.Protos.Mailer.ApiV1.Mailer.MailerClient(_host.Channel);
        var malformed = new Metadata { { "authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("no-colon")) } };

        var send = async () => await mailer.SendHTMLAsync(new SendHTMLReq(), malformed);

        // UNAVAILABLE, not UNAUTHENTICATED: the malformed header went to the database like a real one would.
        (await send.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.Unavailable);
    }

    [Fact]
    public async Task HZ_names_the_failing_database_check()
    {
        var client = new HZService.HZServiceClient(_host.Channel);

        var response = await client.HZAsync(new HZRequest());

        response.Result.Should().ContainKey("database").WhoseValue.Should().StartWith("database: ");
    }
}
