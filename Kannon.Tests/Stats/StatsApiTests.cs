using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Kannon.Api;
using Kannon.Hosting;
using Kannon.Messaging;
using Kannon.Protos.Stats.ApiV1;
using Kannon.Protos.Stats.ApiV2;
using Kannon.Stats;
using Kannon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Kannon.Tests.Stats;

public sealed class StatsApiTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    private KannonTestHost _host = null!;
    private StatsPublisher _publisher = null!;

    public static TheoryData<string?> RefusedTokens => new() { null, "", "wrong-token-of-plenty-length", KannonTestHost.AdminToken + "x" };

    public async Task InitializeAsync()
    {
        _host = await KannonTestHost.StartAsync(new Roles(Api: true, Stats: true), KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url));
        await _host.Services.GetRequiredService<TopologyProvisioner>().EnsureAsync(CancellationToken.None);
        _publisher = new StatsPublisher(nats.Url);
    }

    public async Task DisposeAsync()
    {
        await _publisher.DisposeAsync();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task GetStats_without_dates_answers_for_the_last_seven_days_and_take_zero_is_a_full_default_page()
    {
        var domain = AdminClients.NewDomainName("recent");
        var now = DateTimeOffset.UtcNow;
        await _publisher.PublishAsync(Outcomes.Accepted("msg_old@" + domain, "old@example.org", domain, now.AddDays(-10)));
        for (var i = 0; i < 3; i++)
        {
            await _publisher.PublishAsync(Outcomes.Delivered("msg_new@" + domain, $"r{i}@example.org", domain, now.AddMinutes(-1 - i)));
        }

        var v1 = _host.StatsV1();
        var response = await Eventually.ReturnsAsync(() => v1.GetStatsAsync(new GetStatsReq { Domain = domain }).ResponseAsync, r => r.Total == 3,
            because: "the three recent events are in the default window and the ten-day-old one is not");

        response.Stats.Should().HaveCount(3);
        response.Stats.Select(s => s.Email).Should().Equal("r0@example.org", "r1@example.org", "r2@example.org");
        response.Stats.Should().OnlyContain(s => s.Type == StatTypes.Delivered && s.Data.Delivered != null);
        var timeline = await v1.GetStatsAggregatedAsync(new GetStatsAggregatedReq { Domain = domain });
        timeline.Stats.Sum(s => s.Count).Should().Be(3);
        var onlyFrom = await v1.GetStatsAsync(new GetStatsReq { Domain = domain, FromDate = Timestamp.FromDateTimeOffset(now.AddDays(-11)) });
        onlyFrom.Total.Should().Be(4, "to_date defaults to now");
    }

    [Fact]
    public async Task A_page_size_above_the_cap_gets_the_cap()
    {
        var domain = AdminClients.NewDomainName("cap");

        var response = await _host.StatsV1().GetStatsAsync(new GetStatsReq { Domain = domain, Take = 5000 });

        response.Total.Should().Be(0);
        StatsRequests.Take(5000).Should().Be(StatsRequests.MaxPage);
        StatsRequests.Take(0).Should().Be(StatsRequests.DefaultPage);
    }

    [Fact]
    public async Task A_range_whose_start_is_not_before_its_end_is_an_invalid_argument_everywhere()
    {
        var domain = AdminClients.NewDomainName("range");
        var now = DateTimeOffset.UtcNow;
        var v1 = _host.StatsV1();
        var v2 = _host.StatsV2();
        foreach (var (from, to) in new[] { (now, now), (now, now.AddHours(-1)) })
        {
            var f = Timestamp.FromDateTimeOffset(from);
            var t = Timestamp.FromDateTimeOffset(to);
            await Refused(() => v1.GetStatsAsync(new GetStatsReq { Domain = domain, FromDate = f, ToDate = t }).ResponseAsync, "from_date");
            await Refused(() => v1.GetStatsAggregatedAsync(new GetStatsAggregatedReq { Domain = domain, FromDate = f, ToDate = t }).ResponseAsync, "from_date");
            await Refused(() => v2.GetAggregatedStatsAsync(new GetAggregatedStatsReq { Domain = domain, FromDate = f, ToDate = t }).ResponseAsync, "from_date");
        }

        // A from_date in the future with to_date defaulting to now.
        await Refused(() => v1.GetStatsAsync(new GetStatsReq { Domain = domain, FromDate = Timestamp.FromDateTimeOffset(now.AddDays(1)) }).ResponseAsync, "from_date");
    }

    [Fact]
    public async Task The_domain_is_required_and_v2_requires_both_dates()
    {
        var v1 = _host.StatsV1();
        var v2 = _host.StatsV2();
        var from = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-1));
        var to = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);

        await Refused(() => v1.GetStatsAsync(new GetStatsReq()).ResponseAsync, "domain");
        await Refused(() => v1.GetStatsAggregatedAsync(new GetStatsAggregatedReq()).ResponseAsync, "domain");
        await Refused(() => v2.GetAggregatedStatsAsync(new GetAggregatedStatsReq { FromDate = from, ToDate = to }).ResponseAsync, "domain");
        await Refused(() => v2.GetAggregatedStatsAsync(new GetAggregatedStatsReq { Domain = "example.com", ToDate = to }).ResponseAsync, "from_date");
        await Refused(() => v2.GetAggregatedStatsAsync(new GetAggregatedStatsReq { Domain = "example.com", FromDate = from }).ResponseAsync, "to_date");
    }

    [Theory]
    [MemberData(nameof(RefusedTokens))]
    public async Task Every_stats_method_without_the_right_token_is_unauthenticated(string? token)
    {
        var methods = new[] { StatsApiV1.Descriptor, StatsApiV2.Descriptor }.SelectMany(s => s.Methods).ToList();
        methods.Should().HaveCount(3);

        foreach (var method in methods)
        {
            var status = await RawCallAsync(method, token);

            status.StatusCode.Should().Be(StatusCode.Unauthenticated, method.FullName);
            status.Detail.Should().Be(AdminTokenInterceptor.RefusalMessage, method.FullName);
        }
    }

    [Fact]
    public async Task Every_stats_method_with_the_token_gets_past_authentication()
    {
        foreach (var method in new[] { StatsApiV1.Descriptor, StatsApiV2.Descriptor }.SelectMany(s => s.Methods))
        {
            var status = await RawCallAsync(method, KannonTestHost.AdminToken);

            status.StatusCode.Should().Be(StatusCode.InvalidArgument, $"{method.FullName}: an empty request lacks the domain, and nothing else is wrong");
        }
    }

    private static async Task Refused(Func<Task> call, string field)
    {
        var refusal = (await call.Should().ThrowAsync<RpcException>()).Which;
        refusal.StatusCode.Should().Be(StatusCode.InvalidArgument);
        refusal.Status.Detail.Should().StartWith(field + ":");
    }

    private async Task<Status> RawCallAsync(MethodDescriptor descriptor, string? token)
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
