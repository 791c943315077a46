using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Kannon.Api;
using Kannon.Hosting;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Protos.Suppression.ApiV1;
using Kannon.Tests.Infrastructure;
using AdminApi = Kannon.Protos.Admin.ApiV1.Api;

namespace Kannon.Tests.Api;

public sealed class AdminTokenTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    private KannonTestHost _host = null!;

    public static TheoryData<string?> RefusedTokens => new()
    {
        null,
        "",
        "wrong-token-of-plenty-length",
        KannonTestHost.AdminToken.ToUpperInvariant(),
        KannonTestHost.AdminToken + "x",
        KannonTestHost.AdminToken[..^1],
    };

    public async Task InitializeAsync() =>
        _host = await KannonTestHost.StartAsync(new Roles(Api: true), KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url));

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [MemberData(nameof(RefusedTokens))]
    public async Task Every_admin_method_without_the_right_token_is_unauthenticated_with_one_message(string? token)
    {
        var methods = AdminApi.Descriptor.Methods.Concat(SuppressionApi.Descriptor.Methods).ToList();
        methods.Should().HaveCount(18, "the original's 13 Admin methods, our SetUnsubscribePolicy, and the 4 of the Suppression API");

        foreach (var method in methods)
        {
            var status = await RawCallAsync(method, token);

            status.StatusCode.Should().Be(StatusCode.Unauthenticated, method.Name);
            status.Detail.Should().Be(AdminTokenInterceptor.RefusalMessage, method.Name);
        }
    }

    [Fact]
    public async Task Every_admin_method_with_the_token_gets_past_authentication()
    {
        foreach (var method in AdminApi.Descriptor.Methods.Concat(SuppressionApi.Descriptor.Methods))
        {
            // An empty request: GetDomains succeeds, the others are refused for what they lack, none for the token.
            var status = await RawCallAsync(method, KannonTestHost.AdminToken);

            status.StatusCode.Should().BeOneOf([StatusCode.OK, StatusCode.InvalidArgument], method.Name);
        }
    }

    [Fact]
    public async Task The_token_is_compared_after_trimming_surrounding_whitespace()
    {
        var response = await _host.Admin("  " + KannonTestHost.AdminToken + "\t").GetDomainsAsync(new GetDomainsReq());

        response.Should().NotBeNull();
    }

    [Fact]
    public async Task HZ_answers_without_a_token_and_is_empty_when_healthy()
    {
        var client = new HZService.HZServiceClient(_host.Channel);

        var response = await client.HZAsync(new HZRequest());

        response.Result.Should().BeEmpty();
    }

    [Fact]
    public async Task The_grpc_health_service_answers_without_a_token()
    {
        var client = new Health.HealthClient(_host.Channel);

        var response = await client.CheckAsync(new HealthCheckRequest());

        response.Status.Should().Be(HealthCheckResponse.Types.ServingStatus.Serving);
    }

    [Fact]
    public async Task Reflection_lists_the_five_original_services_ours_and_health_without_a_token()
    {
        var client = new ServerReflection.ServerReflectionClient(_host.Channel);
        using var call = client.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();

        (await call.ResponseStream.MoveNext(CancellationToken.None)).Should().BeTrue();
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();

        services.Should().Contain([
            "pkg.kannon.mailer.apiv1.Mailer",
            "pkg.kannon.admin.apiv1.Api",
            "kannon.StatsApiV1",
            "kannon.stats.apiv2.StatsApiV2",
            "pkg.kannon.admin.apiv1.HZService",
            "kannon.suppression.apiv1.SuppressionApi",
            "grpc.health.v1.Health",
        ]);
    }

    private async Task<Status> RawCallAsync(Google.Protobuf.Reflection.MethodDescriptor descriptor, string? token)
    {
        var method = new Method<byte[], byte[]>(MethodType.Unary, descriptor.Service.FullName, descriptor.Name, Bytes, Bytes);
        var headers = new Metadata();
        if (token is not null)
        {
            headers.Add(AdminTokenInterceptor.Header, token);
        }

        try
        {
            await _host.Channel.CreateCallInvoker().AsyncUnaryCall(method, null, new CallOptions(headers), []);
            return Status.DefaultSuccess;
        }
        catch (RpcException e)
        {
            return e.Status;
        }
    }
}
