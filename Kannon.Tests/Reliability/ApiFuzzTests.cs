using System.Collections.Concurrent;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Kannon.Api;
using Kannon.Hosting;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Kannon.Tests.Reliability;

/// <summary>
/// Ten thousand malformed calls, spread over every gRPC method the API host maps, with raw request bytes so the
/// server's own deserializer is what meets them. The server may refuse, never fail: UNKNOWN or INTERNAL would
/// mean an exception nobody mapped to a status.
/// </summary>
public sealed class ApiFuzzTests(PostgresFixture postgres, NatsFixture nats, ITestOutputHelper output)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private const int Seed = 20261201;
    private const int Calls = 10_000;
    private const int Parallel = 8;
    private const int MaxRequestBytes = 4 << 20;
    private const int OversizedBytes = 10 << 20;

    /// <summary>
    /// What a refusal may be. OK: a call that happened to be acceptable (empty requests to list methods, a random but valid
    /// send). INVALID_ARGUMENT: a request that does not decode or fails validation. RESOURCE_EXHAUSTED: above
    /// <c>api.max_request_bytes</c>. UNAUTHENTICATED: missing or wrong operator token or API key. NOT_FOUND: a Domain,
    /// template or key that does not exist. PERMISSION_DENIED: a template of another Domain. FAILED_PRECONDITION: a
    /// template or key in a state that forbids the change. ALREADY_EXISTS: creating what is there.
    /// </summary>
    private static readonly StatusCode[] Allowed =
    [
        StatusCode.OK, StatusCode.InvalidArgument, StatusCode.ResourceExhausted, StatusCode.Unauthenticated,
        StatusCode.NotFound, StatusCode.PermissionDenied, StatusCode.FailedPrecondition, StatusCode.AlreadyExists,
    ];

    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(30);

    private KannonTestHost _host = null!;
    private string _mailerAuthorization = "";

    /// <summary>A request each of these methods accepts, by method name: the base of the nearly valid calls.</summary>
    private Dictionary<string, IMessage> _seeds = [];

    public async Task InitializeAsync()
    {
        var settings = KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url);
        settings["api:max_request_bytes"] = MaxRequestBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _host = await KannonTestHost.StartAsync(new Roles(Api: true), settings);
        var domain = AdminClients.NewDomainName("fuzz");
        var admin = _host.Admin();
        await admin.CreateDomainAsync(new CreateDomainRequest { Domain = domain });
        var key = await admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = domain, Name = "fuzz" });
        _mailerAuthorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{domain}:{key.Key}"));
        var template = await admin.CreateTemplateAsync(new CreateTemplateReq { Domain = domain, Title = "fuzz", Html = "<p>{{ name }}</p>" });
        var sender = new Kannon.Protos.Mailer.Types.Sender { Email = $"news@{domain}", Alias = "News" };
        Recipient[] recipients =
        [
            new() { Email = "ann@example.org", Fields = { ["name"] = "Ann" } },
            new() { Email = "bob@example.org", Fields = { ["name"] = "Bob" } },
        ];
        _seeds = new Dictionary<string, IMessage>
        {
            ["SendHTML"] = new SendHTMLReq { Sender = sender, Subject = "Hi {{ name }}", Html = "<p>{{ name }}</p>", Recipients = { recipients }, GlobalFields = { ["g"] = "1" } },
            ["SendTemplate"] = new SendTemplateReq { Sender = sender, Subject = "Hi", TemplateId = template.Template.TemplateId, Recipients = { recipients } },
            ["CreateDomain"] = new CreateDomainRequest { Domain = AdminClients.NewDomainName("fuzz") },
            ["CreateTemplate"] = new CreateTemplateReq { Domain = domain, Title = "t", Html = "<p>x</p>" },
            ["UpdateTemplate"] = new UpdateTemplateReq { TemplateId = template.Template.TemplateId, Title = "t", Html = "<p>y</p>" },
            ["CreateAPIKey"] = new CreateAPIKeyRequest { Domain = domain, Name = "k" },
            ["GetDomain"] = new GetDomainReq { Domain = domain },
        };
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Ten_thousand_malformed_calls_get_only_client_error_statuses_and_the_server_still_answers()
    {
        var methods = MappedMethods(_host.Services);
        methods.Select(m => m.Method.ServiceName).Should().Contain(
            [Kannon.Protos.Mailer.ApiV1.Mailer.Descriptor.FullName, Kannon.Protos.Admin.ApiV1.Api.Descriptor.FullName, HZService.Descriptor.FullName,
             Kannon.Protos.Stats.ApiV1.StatsApiV1.Descriptor.FullName, Kannon.Protos.Stats.ApiV2.StatsApiV2.Descriptor.FullName,
             "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"]);
        var invoker = _host.Channel.CreateCallInvoker();
        var counts = new ConcurrentDictionary<StatusCode, int>();
        var unexpected = new ConcurrentQueue<string>();

        using var gate = new SemaphoreSlim(Parallel);
        var calls = Enumerable.Range(0, Calls).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var call = Plan(i, methods);
                var status = await FuzzCall.InvokeAsync(invoker, call.Method, call.Body, call.Headers, CallDeadline);
                counts.AddOrUpdate(status.StatusCode, 1, (_, n) => n + 1);
                if (!Allowed.Contains(status.StatusCode))
                {
                    unexpected.Enqueue($"#{i} {call.Method.FullName} {call.Description}: {status.StatusCode} '{status.Detail}'");
                }
            }
            finally
            {
                gate.Release();
            }
        });
        await Task.WhenAll(calls);

        foreach (var (status, count) in counts.OrderBy(c => c.Key))
        {
            output.WriteLine($"{status,-20} {count,6}");
        }

        foreach (var line in unexpected.Take(20))
        {
            output.WriteLine("unexpected: " + line);
        }

        counts.Values.Sum().Should().Be(Calls);
        unexpected.Should().BeEmpty("seed {0}: only client-error statuses are allowed", Seed);
        (await _host.Admin().GetDomainsAsync(new GetDomainsReq(), deadline: DateTime.UtcNow.Add(CallDeadline))).Domains.Should().NotBeEmpty();
    }

    [Fact]
    public async Task A_request_that_does_not_decode_is_invalid_argument_with_protobuf_s_reason()
    {
        var getDomain = MappedMethods(_host.Services).Single(m => m.Method.Name == "GetDomain").Method;
        var headers = new Metadata { { AdminTokenInterceptor.Header, KannonTestHost.AdminToken } };

        // Field 1 (domain) says 100 bytes follow; 2 do.
        var status = await FuzzCall.InvokeAsync(_host.Channel.CreateCallInvoker(), getDomain, [0x0A, 0x64, 0x61, 0x62], headers, CallDeadline);

        status.StatusCode.Should().Be(StatusCode.InvalidArgument);
        status.Detail.Should().StartWith("request is not a valid GetDomainReq: ");
    }

    [Fact]
    public async Task A_NUL_character_in_any_string_is_invalid_argument_naming_the_field()
    {
        var admin = _host.Admin();
        var domain = (await admin.GetDomainsAsync(new GetDomainsReq())).Domains[0].Domain_;

        var create = async () => await admin.CreateTemplateAsync(new CreateTemplateReq { Domain = domain, Title = "t", Html = "<p>a\0b</p>" });

        var refused = (await create.Should().ThrowAsync<RpcException>()).Which;
        refused.StatusCode.Should().Be(StatusCode.InvalidArgument);
        refused.Status.Detail.Should().StartWith("html: contains a NUL character");
    }

    [Fact]
    public async Task A_refusal_quoting_a_huge_input_is_cut_and_the_connection_stays_usable()
    {
        var admin = _host.Admin();
        var huge = new string('q', 200_000) + ".example.com";

        var get = async () => await admin.GetDomainAsync(new GetDomainReq { Domain = huge }, deadline: DateTime.UtcNow.Add(CallDeadline));

        var refused = (await get.Should().ThrowAsync<RpcException>()).Which;
        refused.StatusCode.Should().BeOneOf(StatusCode.InvalidArgument, StatusCode.NotFound);
        refused.Status.Detail.Length.Should().BeLessThanOrEqualTo(StatusDetailLimitInterceptor.MaxDetailLength);
        (await admin.GetDomainsAsync(new GetDomainsReq(), deadline: DateTime.UtcNow.Add(CallDeadline))).Domains.Should().NotBeEmpty();
    }

    /// <summary>Call <paramref name="i"/>: which method, which body, which credentials. Depends on the seed and i only, so any call replays alone.</summary>
    private FuzzCall Plan(int i, IReadOnlyList<MappedMethod> methods)
    {
        var random = new Random(Seed + i);
        var method = methods[random.Next(methods.Count)];
        byte[] body;
        string description;
        if (i % 500 == 499)
        {
            body = MalformedProtobuf.Oversized(OversizedBytes);
            description = $"{OversizedBytes} bytes";
        }
        else if (_seeds.TryGetValue(method.Method.Name, out var seed) && random.Next(3) == 0)
        {
            body = MalformedProtobuf.NearlyValid(seed, random);
            description = $"nearly valid ({body.Length} bytes)";
        }
        else
        {
            var kind = MalformedProtobuf.Kinds[random.Next(MalformedProtobuf.Kinds.Length)];
            body = MalformedProtobuf.Create(method.Request, kind, random);
            description = $"{kind} ({body.Length} bytes)";
        }

        var (headers, credentials) = Credentials(method.Method.ServiceName, random);
        return new FuzzCall(method.Method, body, headers, $"{description}, {credentials}");
    }

    private (Metadata Headers, string Description) Credentials(string service, Random random)
    {
        var headers = new Metadata();
        var choice = random.Next(4);
        if (service == Kannon.Protos.Mailer.ApiV1.Mailer.Descriptor.FullName)
        {
            string?[] values = [null, "Basic !!!not base64", "Basic " + Convert.ToBase64String([0xC3, 0x28, (byte)':', 0xFF]), _mailerAuthorization];
            if (values[choice] is { } value)
            {
                headers.Add(ApiKeyAuthenticator.Header, value);
            }

            return (headers, choice == 3 ? "valid key" : $"bad key {choice}");
        }

        if (choice > 0)
        {
            headers.Add(AdminTokenInterceptor.Header, choice == 1 ? "wrong-token-of-plenty-length" : KannonTestHost.AdminToken);
        }

        return (headers, choice > 1 ? "operator token" : "no or wrong token");
    }

    private static List<MappedMethod> MappedMethods(IServiceProvider services) =>
        services.GetRequiredService<EndpointDataSource>().Endpoints
            .Select(e => e.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method)
            .OfType<IMethod>()
            .DistinctBy(m => m.FullName)
            .Select(m => new MappedMethod(m, RequestDescriptor(m)))
            .ToList();

    private static MessageDescriptor RequestDescriptor(IMethod method)
    {
        var request = method.GetType().GetGenericArguments()[0];
        return (MessageDescriptor)request.GetProperty("Descriptor")!.GetValue(null)!;
    }

    private sealed record MappedMethod(IMethod Method, MessageDescriptor Request);
}
