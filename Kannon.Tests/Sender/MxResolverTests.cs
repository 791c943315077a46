using Kannon.Sender;
using Kannon.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Kannon.Tests.Sender;

public sealed class MxResolverTests : IAsyncLifetime
{
    private readonly TestDnsServer _dns = new();
    private MxResolver _resolver = null!;

    public Task InitializeAsync()
    {
        _resolver = new MxResolver(Options.Create(new SenderOptions { DnsServers = [_dns.Address] }), TimeProvider.System, NullLogger<MxResolver>.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _dns.DisposeAsync();

    [Fact]
    public async Task Mx_hosts_come_by_preference_with_equal_preferences_in_varying_order()
    {
        _dns.Mx("pref.example", 20, "backup.pref.example").Mx("pref.example", 10, "a.pref.example").Mx("pref.example", 10, "b.pref.example");

        var firsts = new HashSet<string>();
        for (var i = 0; i < 40; i++)
        {
            var route = await _resolver.ResolveAsync("pref.example", CancellationToken.None);
            route.Failure.Should().BeNull();
            route.Hosts.Take(2).Should().BeEquivalentTo(["a.pref.example", "b.pref.example"]);
            route.Hosts[2].Should().Be("backup.pref.example");
            firsts.Add(route.Hosts[0]);
        }

        firsts.Should().HaveCount(2, "equal preferences share the load");
    }

    [Fact]
    public async Task At_most_five_mx_hosts_are_tried()
    {
        for (var i = 0; i < 8; i++)
        {
            _dns.Mx("many.example", i, $"mx{i}.many.example");
        }

        var route = await _resolver.ResolveAsync("many.example", CancellationToken.None);

        route.Hosts.Should().Equal("mx0.many.example", "mx1.many.example", "mx2.many.example", "mx3.many.example", "mx4.many.example");
    }

    [Fact]
    public async Task A_domain_without_mx_is_its_own_mail_host()
    {
        _dns.A("plain.example", "192.0.2.7").A("plain.example", "2001:db8::7");

        var route = await _resolver.ResolveAsync("plain.example", CancellationToken.None);
        var host = await _resolver.ResolveHostAsync(route.Hosts.Single(), CancellationToken.None);

        route.Hosts.Should().Equal("plain.example");
        host.Addresses.Select(a => a.ToString()).Should().Equal("192.0.2.7", "2001:db8::7");
    }

    [Theory]
    [InlineData("null-mx", 556, "does not accept mail")]
    [InlineData("nxdomain", 550, "does not exist")]
    [InlineData("empty", 550, "no MX or address records")]
    public async Task Domains_that_cannot_receive_mail_bounce(string domain, int code, string text)
    {
        _dns.NullMx("null-mx").Exists("empty");

        var route = await _resolver.ResolveAsync(domain, CancellationToken.None);

        var bounce = route.Failure.Should().BeOfType<SendOutcome.Bounced>().Subject;
        bounce.Permanent.Should().BeTrue();
        bounce.Code.Should().Be(code);
        bounce.Text.Should().Contain(text);
    }

    [Fact]
    public async Task A_failing_dns_server_means_retry_later()
    {
        _dns.Broken("servfail.example");

        var route = await _resolver.ResolveAsync("servfail.example", CancellationToken.None);

        route.Failure.Should().BeOfType<SendOutcome.Retry>().Which.Code.Should().Be(451);
    }

    [Fact]
    public async Task Answers_are_cached_and_concurrent_lookups_share_one_query()
    {
        _dns.Mx("cached.example", 10, "mx.cached.example").A("mx.cached.example", "192.0.2.1");

        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => _resolver.ResolveAsync("cached.example", CancellationToken.None)));
        await _resolver.ResolveHostAsync("mx.cached.example", CancellationToken.None);
        var queries = _dns.Queries;
        await _resolver.ResolveAsync("cached.example", CancellationToken.None);
        await _resolver.ResolveHostAsync("mx.cached.example", CancellationToken.None);

        queries.Should().Be(3, "one MX query, one A and one AAAA");
        _dns.Queries.Should().Be(queries);
    }

    [Theory]
    [InlineData("Bücher.Example", "xn--bcher-kva.example")]
    [InlineData("example.com.", "example.com")]
    [InlineData("a..b", null)]
    public void Recipient_domains_are_looked_up_in_their_ascii_form(string domain, string? ascii) =>
        MxResolver.ToAscii(domain).Should().Be(ascii);
}
