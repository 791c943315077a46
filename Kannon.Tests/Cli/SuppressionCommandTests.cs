using Kannon.Hosting;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Protos.Suppression.ApiV1;
using Kannon.Tests.Infrastructure;

namespace Kannon.Tests.Cli;

/// <summary><c>kannon suppression list|add|remove</c> and <c>kannon domain unsubscribe</c> against a real API on real PostgreSQL.</summary>
public sealed class SuppressionCommandTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private KannonTestHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await KannonTestHost.StartAsync(new Roles(Api: true), KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url));

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Suppression_add_list_and_remove_round_trip_with_the_note()
    {
        var name = AdminClients.NewDomainName("cli");
        await KannonCli.OperatorAsync(_host, "domain", "create", name).SucceedsAsync();

        var added = await KannonCli.OperatorAsync(_host, "suppression", "add", "--domain", name, "--email", "ann@example.org", "--note", "asked by phone").SucceedsAsync();
        await KannonCli.OperatorAsync(_host, "suppression", "add", "--domain", name, "--email", "bob@example.org").SucceedsAsync();

        added.Should().StartWith($"ann@example.org is suppressed for {name} (reason manual");
        var list = await KannonCli.OperatorAsync(_host, "suppression", "list", "--domain", name).SucceedsAsync();
        list.Should().StartWith("EMAIL").And.Contain("REASON").And.Contain("EVIDENCE").And.Contain("(2 of 2)");
        list.Should().MatchRegex(@"(?m)^ann@example\.org\s+manual\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+api ""asked by phone""$");
        var filtered = await KannonCli.OperatorAsync(_host, "suppression", "list", "--domain", name, "--prefix", "bo", "--take", "1").SucceedsAsync();
        filtered.Should().Contain("bob@example.org").And.NotContain("ann@example.org").And.Contain("(1 of 1)");

        var removed = await KannonCli.OperatorAsync(_host, "suppression", "remove", "--domain", name, "--email", "ann@example.org", "--note", "resubscribed").SucceedsAsync();
        var again = await KannonCli.OperatorAsync(_host, "suppression", "remove", "--domain", name, "--email", "ann@example.org").SucceedsAsync();

        removed.Should().Be($"Removed ann@example.org from the suppression list of {name}.\n");
        again.Should().Contain("was not suppressed").And.Contain("nothing removed");
        var left = await Suppressions().ListAsync(new ListSuppressionsReq { Domain = name });
        left.Suppressions.Select(s => s.Email).Should().Equal("bob@example.org");
    }

    [Fact]
    public async Task Suppression_list_of_an_empty_domain_says_so_and_a_bad_reason_is_the_servers_message()
    {
        var name = AdminClients.NewDomainName("cli");
        await KannonCli.OperatorAsync(_host, "domain", "create", name).SucceedsAsync();

        (await KannonCli.OperatorAsync(_host, "suppression", "list", "--domain", name).SucceedsAsync()).Should().Be("No suppressed addresses.\n");
        var bad = await KannonCli.OperatorAsync(_host, "suppression", "list", "--domain", name, "--reason", "bounce");
        var unknown = await KannonCli.OperatorAsync(_host, "suppression", "add", "--domain", "nosuch-" + name, "--email", "a@example.org");

        bad.Code.Should().NotBe(0);
        bad.ErrorLines.Should().ContainSingle().Which.Should().StartWith("kannon: reason: 'bounce' is not one of hard_bounce, complaint, unsubscribe, manual");
        unknown.Code.Should().NotBe(0);
        unknown.ErrorLines.Should().ContainSingle().Which.Should().Be($"kannon: domain 'nosuch-{name}' not found");
    }

    [Fact]
    public async Task Domain_unsubscribe_sets_the_setting_that_domain_show_prints()
    {
        var name = AdminClients.NewDomainName("cli");
        await KannonCli.OperatorAsync(_host, "domain", "create", name).SucceedsAsync();
        (await KannonCli.OperatorAsync(_host, "domain", "show", name).SucceedsAsync()).Should().MatchRegex(@"(?m)^unsubscribe:\s+hosted$");

        var set = await KannonCli.OperatorAsync(_host, "domain", "unsubscribe", name, "off").SucceedsAsync();
        var wrong = await KannonCli.OperatorAsync(_host, "domain", "unsubscribe", name, "sometimes");

        set.Should().Be($"Unsubscribe of {name} is now off.\n");
        (await _host.Admin().GetDomainAsync(new GetDomainReq { Domain = name })).Domain.Unsubscribe.Should().Be("off");
        (await KannonCli.OperatorAsync(_host, "domain", "show", name).SucceedsAsync()).Should().MatchRegex(@"(?m)^unsubscribe:\s+off$");
        wrong.Code.Should().NotBe(0);
        wrong.Error.Should().Contain("sometimes");
    }

    private SuppressionApi.SuppressionApiClient Suppressions() =>
        new(Grpc.Core.Interceptors.CallInvokerExtensions.Intercept(_host.Channel.CreateCallInvoker(), metadata =>
        {
            metadata.Add(Kannon.Api.AdminTokenInterceptor.Header, KannonTestHost.AdminToken);
            return metadata;
        }));
}
