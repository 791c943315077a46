using System.Text.RegularExpressions;
using Kannon.Hosting;
using Kannon.Hosting.Embedded;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Tests.Infrastructure;

namespace Kannon.Tests.Cli;

/// <summary><c>kannon domain|apikey|template</c> and the CLI's errors, against a real API on real PostgreSQL and NATS.</summary>
public sealed partial class OperatorCommandTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private KannonTestHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await KannonTestHost.StartAsync(new Roles(Api: true), KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url));

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Domain_create_prints_the_dkim_record_with_the_key_the_admin_api_returns_and_the_spf_dmarc_and_bounce_records()
    {
        var name = AdminClients.NewDomainName("cli");

        var output = await KannonCli.OperatorAsync(_host, "domain", "create", name).SucceedsAsync();

        var key = (await _host.Admin().GetDomainAsync(new GetDomainReq { Domain = name })).Domain.DkimPubKey;
        key.Should().NotBeNullOrEmpty();
        var dkim = $"v=DKIM1; k=rsa; p={key}";
        output.Should().Contain($"name:  kannon._domainkey.{name}").And.Contain($"value: {dkim}");
        var zoneLine = output.Split('\n').Single(l => l.TrimStart().StartsWith($"kannon._domainkey.{name}. ", StringComparison.Ordinal));
        var strings = QuotedStrings().Matches(zoneLine).Select(m => m.Groups[1].Value).ToList();
        strings.Should().HaveCountGreaterThan(1, "a 2048-bit key does not fit one TXT string");
        strings.Should().OnlyContain(s => s.Length <= 255);
        string.Concat(strings).Should().Be(dkim);
        output.Should().Contain("v=spf1 a mx ~all");
        output.Should().Contain($"_dmarc.{name}").And.Contain($"v=DMARC1; p=none; rua=mailto:dmarc@{name}");
        output.Should().Contain($"bump_…@{name}").And.Contain("--run-smtp");
    }

    [Fact]
    public async Task Domain_list_and_show_find_the_created_domain()
    {
        var name = AdminClients.NewDomainName("cli");
        await KannonCli.OperatorAsync(_host, "domain", "create", name).SucceedsAsync();

        var list = await KannonCli.OperatorAsync(_host, "domain", "list").SucceedsAsync();
        var show = await KannonCli.OperatorAsync(_host, "domain", "show", name).SucceedsAsync();

        list.Should().StartWith("DOMAIN").And.MatchRegex($@"(?m)^{Regex.Escape(name)}\s+identified\s+identified$");
        var key = (await _host.Admin().GetDomainAsync(new GetDomainReq { Domain = name })).Domain.DkimPubKey;
        show.Should().Contain($"domain:         {name}").And.Contain($"value: v=DKIM1; k=rsa; p={key}").And.Contain($"_dmarc.{name}");
    }

    [Fact]
    public async Task Apikey_create_prints_the_key_once_and_list_shows_it_only_masked()
    {
        var name = AdminClients.NewDomainName("cli");
        await KannonCli.OperatorAsync(_host, "domain", "create", name).SucceedsAsync();

        var created = await KannonCli.OperatorAsync(_host, "apikey", "create", "--domain", name, "--name", "newsletter", "--expires", "30d").SucceedsAsync();

        var key = PlaintextKey().Matches(created).Should().ContainSingle("the key is printed once").Subject.Value;
        created.Should().Contain("shown only now");
        var id = KeyId().Match(created).Value;
        var stored = (await _host.Admin().GetAPIKeyAsync(new GetAPIKeyRequest { Domain = name, Id = id })).ApiKey;
        stored.Name.Should().Be("newsletter");
        stored.ExpiresAt.ToDateTimeOffset().Should().BeCloseTo(DateTimeOffset.UtcNow.AddDays(30), TimeSpan.FromMinutes(5));

        var list = await KannonCli.OperatorAsync(_host, "apikey", "list", "--domain", name).SucceedsAsync();

        list.Should().NotContain(key, "a listed key is masked");
        list.Should().StartWith("ID").And.Contain("NAME").And.Contain("KEY").And.Contain("CREATED").And.Contain("EXPIRES").And.Contain("ACTIVE");
        var row = list.Split('\n').Should().ContainSingle(l => l.StartsWith(id, StringComparison.Ordinal)).Subject;
        row.Should().Contain("newsletter").And.Contain(key[..8] + "...").And.Contain(stored.ExpiresAt.ToDateTime().ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)).And.EndWith("yes");
    }

    [Fact]
    public async Task A_deactivated_key_leaves_the_list_and_appears_with_all()
    {
        var name = AdminClients.NewDomainName("cli");
        await KannonCli.OperatorAsync(_host, "domain", "create", name).SucceedsAsync();
        var id = KeyId().Match(await KannonCli.OperatorAsync(_host, "apikey", "create", "--domain", name, "--name", "old").SucceedsAsync()).Value;

        var deactivated = await KannonCli.OperatorAsync(_host, "apikey", "deactivate", "--domain", name, "--id", id).SucceedsAsync();

        deactivated.Should().Contain($"Deactivated API key {id}");
        (await KannonCli.OperatorAsync(_host, "apikey", "list", "--domain", name).SucceedsAsync()).Should().NotContain(id);
        (await KannonCli.OperatorAsync(_host, "apikey", "list", "--domain", name, "--all").SucceedsAsync())
            .Split('\n').Should().ContainSingle(l => l.StartsWith(id, StringComparison.Ordinal)).Which.Should().EndWith("no (deactivated)");
    }

    [Fact]
    public async Task Template_create_list_show_and_delete_round_trip()
    {
        var name = AdminClients.NewDomainName("cli");
        await KannonCli.OperatorAsync(_host, "domain", "create", name).SucceedsAsync();
        var file = Path.Combine(Path.GetTempPath(), $"template-{Guid.NewGuid():N}.html");
        await File.WriteAllTextAsync(file, "<p>Hello {{ name }}, from a file</p>");
        try
        {
            var fromFile = TemplateId().Match(await KannonCli.OperatorAsync(_host, "template", "create", "--domain", name, "--title", "Welcome", "--html-file", file).SucceedsAsync()).Value;
            var inline = TemplateId().Match(await KannonCli.OperatorAsync(_host, "template", "create", "--domain", name, "--title", "Inline", "--html", "<p>Inline {{ code }}</p>").SucceedsAsync()).Value;
            fromFile.Should().EndWith("@" + name);
            inline.Should().EndWith("@" + name);

            var list = await KannonCli.OperatorAsync(_host, "template", "list", "--domain", name).SucceedsAsync();
            list.Should().MatchRegex($@"(?m)^{Regex.Escape(fromFile)}\s+Welcome\s+template$").And.MatchRegex($@"(?m)^{Regex.Escape(inline)}\s+Inline\s+template$");

            var show = await KannonCli.OperatorAsync(_host, "template", "show", fromFile).SucceedsAsync();
            show.Should().Contain($"id:    {fromFile}").And.Contain("title: Welcome").And.Contain("<p>Hello {{ name }}, from a file</p>");

            (await KannonCli.OperatorAsync(_host, "template", "delete", fromFile).SucceedsAsync()).Should().Contain($"Deleted template {fromFile}");
            (await KannonCli.OperatorAsync(_host, "template", "list", "--domain", name).SucceedsAsync()).Should().NotContain(fromFile).And.Contain(inline);
            var gone = await KannonCli.OperatorAsync(_host, "template", "show", fromFile);
            gone.Code.Should().NotBe(0);
            gone.ErrorLines.Should().ContainSingle().Which.Should().Be($"kannon: template '{fromFile}' not found");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Template_create_with_both_html_and_a_file_is_one_line_and_no_call()
    {
        var result = await KannonCli.OperatorAsync(_host, "template", "create", "--domain", "x.example.com", "--title", "t", "--html", "<p/>", "--html-file", "/tmp/x.html");

        result.Code.Should().NotBe(0);
        result.ErrorLines.Should().ContainSingle().Which.Should().Contain("not both");
    }

    [Fact]
    public async Task A_wrong_token_exits_non_zero_with_one_line_saying_the_token_was_refused()
    {
        var result = await KannonCli.RunAsync("domain", "list", "--api", _host.ApiAddress!.ToString(), "--token", "not-the-operator-token");

        result.Code.Should().NotBe(0);
        result.Output.Should().BeEmpty();
        result.ErrorLines.Should().ContainSingle().Which.Should().StartWith("kannon: the operator token was refused");
    }

    [Fact]
    public async Task An_unreachable_address_is_one_line_naming_it()
    {
        var port = FreePort.Next();

        var result = await KannonCli.RunAsync("domain", "list", "--api", $"127.0.0.1:{port}", "--token", KannonTestHost.AdminToken);

        result.Code.Should().NotBe(0);
        result.ErrorLines.Should().ContainSingle().Which.Should().StartWith($"kannon: cannot reach the Kannon API at http://127.0.0.1:{port}");
    }

    [Fact]
    public async Task The_http_port_instead_of_the_api_port_is_one_line()
    {
        var result = await KannonCli.RunAsync("domain", "list", "--api", _host.HttpAddress.ToString(), "--token", KannonTestHost.AdminToken);

        result.Code.Should().NotBe(0);
        result.ErrorLines.Should().ContainSingle().Which.Should().StartWith($"kannon: cannot reach the Kannon API at http://{_host.HttpAddress.Authority}").And.Contain("api.port");
    }

    [Fact]
    public async Task An_unknown_domain_is_the_servers_not_found_message()
    {
        var name = AdminClients.NewDomainName("missing");

        foreach (var args in new[] { new[] { "domain", "show", name }, ["apikey", "list", "--domain", name], ["stats", "--domain", name] })
        {
            var result = await KannonCli.OperatorAsync(_host, args);

            result.Code.Should().NotBe(0, string.Join(' ', args));
            result.ErrorLines.Should().ContainSingle().Which.Should().Be($"kannon: domain '{name}' not found");
        }
    }

    [Fact]
    public async Task An_existing_domain_is_the_servers_already_exists_message()
    {
        var name = AdminClients.NewDomainName("cli");
        await KannonCli.OperatorAsync(_host, "domain", "create", name).SucceedsAsync();

        var again = await KannonCli.OperatorAsync(_host, "domain", "create", name);

        again.Code.Should().NotBe(0);
        again.ErrorLines.Should().ContainSingle().Which.Should().Be($"kannon: domain '{name}' already exists");
    }

    [Fact]
    public async Task The_address_and_token_come_from_the_config_file_when_no_flag_or_variable_gives_them()
    {
        var file = Path.Combine(Path.GetTempPath(), $"cli-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, $"api:\n  port: {_host.ApiAddress!.Port}\n  admin_token: {KannonTestHost.AdminToken}\n");
        try
        {
            var result = await KannonCli.RunAsync("domain", "list", "--config", file);

            result.Code.Should().Be(0, result.ToString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Without_any_token_the_command_says_where_it_looked()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), $"cli-empty-{Guid.NewGuid():N}");
        var file = Path.Combine(Path.GetTempPath(), $"cli-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, $$"""{ "data_dir": "{{dataDir}}" }""");
        try
        {
            var result = await KannonCli.RunAsync("domain", "list", "--api", _host.ApiAddress!.ToString(), "--config", file);

            result.Code.Should().NotBe(0);
            result.ErrorLines.Should().ContainSingle().Which.Should().Contain("no operator token").And.Contain(Path.Combine(dataDir, "admin_token"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task The_token_file_of_the_embedded_default_is_used_when_nothing_else_gives_a_token()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), $"cli-data-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dataDir);
        await File.WriteAllTextAsync(Path.Combine(dataDir, "admin_token"), KannonTestHost.AdminToken + "\n");
        var file = Path.Combine(Path.GetTempPath(), $"cli-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, $$"""{ "data_dir": "{{dataDir}}" }""");
        try
        {
            var result = await KannonCli.RunAsync("domain", "list", "--api", _host.ApiAddress!.ToString(), "--config", file);

            result.Code.Should().Be(0, result.ToString());
        }
        finally
        {
            File.Delete(file);
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [GeneratedRegex("\"([^\"]*)\"")]
    private static partial Regex QuotedStrings();

    [GeneratedRegex(@"(?<![A-Za-z0-9_])k_[A-Za-z0-9]{64}(?![A-Za-z0-9])")]
    private static partial Regex PlaintextKey();

    [GeneratedRegex(@"key_[A-Za-z0-9]+")]
    private static partial Regex KeyId();

    [GeneratedRegex(@"template_[^\s']+@[a-z0-9.-]+[a-z0-9]")]
    private static partial Regex TemplateId();
}
