using Grpc.Core;
using Kannon.Data;
using Kannon.Hosting;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Tests.Infrastructure;
using Npgsql;
using AdminApi = Kannon.Protos.Admin.ApiV1.Api;

namespace Kannon.Tests.Admin;

public sealed class TemplateAdminTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private KannonTestHost _host = null!;
    private AdminApi.ApiClient _admin = null!;

    public async Task InitializeAsync()
    {
        _host = await KannonTestHost.StartAsync(new Roles(Api: true), KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url));
        _admin = _host.Admin();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_template_is_created_read_updated_and_deleted()
    {
        var domain = await NewDomainAsync();

        var created = (await _admin.CreateTemplateAsync(new CreateTemplateReq
        {
            Domain = domain,
            Html = "<p>Hello {{ name }}</p>",
            Title = "welcome",
        })).Template;

        created.TemplateId.Should().MatchRegex($"^template_[a-z2-7]{{24}}@{domain.Replace(".", "\\.", StringComparison.Ordinal)}$");
        created.Type.Should().Be("template");
        created.Html.Should().Be("<p>Hello {{ name }}</p>");
        created.Title.Should().Be("welcome");
        (await _admin.GetTemplateAsync(new GetTemplateReq { TemplateId = created.TemplateId })).Template.Should().Be(created);

        var updated = (await _admin.UpdateTemplateAsync(new UpdateTemplateReq
        {
            TemplateId = created.TemplateId,
            Html = "{% if name %}Hi {{ name }}{% endif %}",
            Title = "welcome v2",
        })).Template;
        updated.Should().Be(new Template { TemplateId = created.TemplateId, Html = "{% if name %}Hi {{ name }}{% endif %}", Title = "welcome v2", Type = "template" });
        (await _admin.GetTemplateAsync(new GetTemplateReq { TemplateId = created.TemplateId })).Template.Should().Be(updated);

        var deleted = (await _admin.DeleteTemplateAsync(new DeleteTemplateReq { TemplateId = created.TemplateId })).Template;
        deleted.Should().Be(updated);

        await ShouldBeNotFound(() => _admin.GetTemplateAsync(new GetTemplateReq { TemplateId = created.TemplateId }).ResponseAsync);
        await ShouldBeNotFound(() => _admin.UpdateTemplateAsync(new UpdateTemplateReq { TemplateId = created.TemplateId, Html = "x" }).ResponseAsync);
        await ShouldBeNotFound(() => _admin.DeleteTemplateAsync(new DeleteTemplateReq { TemplateId = created.TemplateId }).ResponseAsync);
        (await _admin.GetTemplatesAsync(new GetTemplatesReq { Domain = domain })).Total.Should().Be(0);
        (await ScalarAsync("SELECT count(*) FROM templates WHERE template_id = $1 AND deleted_at IS NOT NULL", created.TemplateId))
            .Should().Be(1L, "deleting keeps the row for Batches that still use it");
    }

    [Fact]
    public async Task Seven_templates_page_in_a_stable_order_with_the_right_total()
    {
        var domain = await NewDomainAsync();
        var ids = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            var created = await _admin.CreateTemplateAsync(new CreateTemplateReq { Domain = domain, Html = $"<p>{i}</p>", Title = $"t{i}" });
            ids.Add(created.Template.TemplateId);
        }

        var pages = new List<GetTemplatesRes>();
        for (uint skip = 0; skip < 9; skip += 3)
        {
            pages.Add(await _admin.GetTemplatesAsync(new GetTemplatesReq { Domain = domain, Skip = skip, Take = 3 }));
        }

        pages.Should().OnlyContain(p => p.Total == 7);
        pages.Select(p => p.Templates.Count).Should().Equal(3, 3, 1);
        pages.SelectMany(p => p.Templates).Select(t => t.TemplateId).Should().Equal(ids, "oldest first, each exactly once");
        var again = await _admin.GetTemplatesAsync(new GetTemplatesReq { Domain = domain, Skip = 2, Take = 4 });
        again.Templates.Select(t => t.TemplateId).Should().Equal(ids.Skip(2).Take(4));
        (await _admin.GetTemplatesAsync(new GetTemplatesReq { Domain = domain, Skip = 7, Take = 3 })).Templates.Should().BeEmpty();
    }

    [Fact]
    public async Task Take_zero_gives_a_page_of_fifty_and_take_is_capped_at_a_thousand()
    {
        var domain = await NewDomainAsync();
        await ExecuteAsync(
            "INSERT INTO templates (template_id, html, domain, type, title) SELECT 'template_' || i || '@' || $1, 'x', $1, 'template', '' FROM generate_series(1, 1001) i",
            domain);

        var byDefault = await _admin.GetTemplatesAsync(new GetTemplatesReq { Domain = domain });
        var capped = await _admin.GetTemplatesAsync(new GetTemplatesReq { Domain = domain, Take = 5000 });

        byDefault.Templates.Should().HaveCount(50);
        byDefault.Total.Should().Be(1001);
        capped.Templates.Should().HaveCount(1000);
    }

    [Fact]
    public async Task A_template_of_another_domain_is_not_found_and_not_listed()
    {
        var domainA = await NewDomainAsync();
        var domainB = await NewDomainAsync();
        var ofA = (await _admin.CreateTemplateAsync(new CreateTemplateReq { Domain = domainA, Html = "<p>a</p>" })).Template;
        var asIfOfB = ofA.TemplateId.Replace("@" + domainA, "@" + domainB, StringComparison.Ordinal);

        await ShouldBeNotFound(() => _admin.GetTemplateAsync(new GetTemplateReq { TemplateId = asIfOfB }).ResponseAsync);
        await ShouldBeNotFound(() => _admin.UpdateTemplateAsync(new UpdateTemplateReq { TemplateId = asIfOfB, Html = "<p>b</p>" }).ResponseAsync);
        await ShouldBeNotFound(() => _admin.DeleteTemplateAsync(new DeleteTemplateReq { TemplateId = asIfOfB }).ResponseAsync);
        await ShouldBeNotFound(() => _admin.GetTemplateAsync(new GetTemplateReq { TemplateId = $"template_{RandomId.Next()}@{domainA}" }).ResponseAsync);

        (await _admin.GetTemplatesAsync(new GetTemplatesReq { Domain = domainB })).Templates.Should().BeEmpty();
        (await _admin.GetTemplateAsync(new GetTemplateReq { TemplateId = ofA.TemplateId })).Template.Html.Should().Be("<p>a</p>", "nothing done through B touched it");
    }

    [Fact]
    public async Task A_template_that_is_not_valid_liquid_is_invalid_argument_with_the_parse_error()
    {
        var domain = await NewDomainAsync();
        var template = (await _admin.CreateTemplateAsync(new CreateTemplateReq { Domain = domain, Html = "<p>ok</p>" })).Template;

        var create = async () => await _admin.CreateTemplateAsync(new CreateTemplateReq { Domain = domain, Html = "<p>{% if name %}unclosed</p>" });
        var update = async () => await _admin.UpdateTemplateAsync(new UpdateTemplateReq { TemplateId = template.TemplateId, Html = "{{ name " });

        foreach (var call in new Func<Task>[] { create, update })
        {
            var refused = (await call.Should().ThrowAsync<RpcException>()).Which;
            refused.StatusCode.Should().Be(StatusCode.InvalidArgument);
            refused.Status.Detail.Should().StartWith("html: is not a valid Liquid template: ");
            refused.Status.Detail.Length.Should().BeGreaterThan(40, "the parse error says where");
        }

        (await _admin.GetTemplatesAsync(new GetTemplatesReq { Domain = domain })).Total.Should().Be(1);
        (await _admin.GetTemplateAsync(new GetTemplateReq { TemplateId = template.TemplateId })).Template.Html.Should().Be("<p>ok</p>");
    }

    [Fact]
    public async Task Malformed_template_requests_are_invalid_argument_naming_the_field()
    {
        var domain = await NewDomainAsync();

        await ShouldBeInvalid("html", () => _admin.CreateTemplateAsync(new CreateTemplateReq { Domain = domain, Html = "" }).ResponseAsync);
        await ShouldBeInvalid("title", () => _admin.CreateTemplateAsync(new CreateTemplateReq { Domain = domain, Html = "x", Title = new string('t', 201) }).ResponseAsync);
        await ShouldBeInvalid("domain", () => _admin.CreateTemplateAsync(new CreateTemplateReq { Domain = "", Html = "x" }).ResponseAsync);
        await ShouldBeInvalid("domain", () => _admin.GetTemplatesAsync(new GetTemplatesReq { Domain = "Nope.com" }).ResponseAsync);
        await ShouldBeInvalid("template_id", () => _admin.GetTemplateAsync(new GetTemplateReq()).ResponseAsync);
        await ShouldBeInvalid("template_id", () => _admin.GetTemplateAsync(new GetTemplateReq { TemplateId = "template_abc" }).ResponseAsync);
        await ShouldBeInvalid("template_id", () => _admin.DeleteTemplateAsync(new DeleteTemplateReq { TemplateId = "tpl_x@" + domain }).ResponseAsync);
        await ShouldBeNotFound(() => _admin.CreateTemplateAsync(new CreateTemplateReq { Domain = AdminClients.NewDomainName(), Html = "x" }).ResponseAsync);
        await ShouldBeNotFound(() => _admin.GetTemplatesAsync(new GetTemplatesReq { Domain = AdminClients.NewDomainName() }).ResponseAsync);

        var maxTitle = await _admin.CreateTemplateAsync(new CreateTemplateReq { Domain = domain, Html = "x", Title = new string('t', 200) });
        maxTitle.Template.Title.Should().HaveLength(200);
    }

    [Fact]
    public async Task A_transient_template_can_be_read_but_not_changed_or_listed()
    {
        var domain = await NewDomainAsync();
        var id = $"template_{RandomId.Next()}@{domain}";
        await ExecuteAsync("INSERT INTO templates (template_id, html, domain, type) VALUES ($2, '<p>sent</p>', $1, 'transient')", domain, id);

        var read = (await _admin.GetTemplateAsync(new GetTemplateReq { TemplateId = id })).Template;
        var update = async () => await _admin.UpdateTemplateAsync(new UpdateTemplateReq { TemplateId = id, Html = "x" });
        var delete = async () => await _admin.DeleteTemplateAsync(new DeleteTemplateReq { TemplateId = id });

        read.Type.Should().Be("transient");
        (await update.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.FailedPrecondition);
        (await delete.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.FailedPrecondition);
        (await _admin.GetTemplatesAsync(new GetTemplatesReq { Domain = domain })).Total.Should().Be(0);
    }

    private static async Task ShouldBeNotFound(Func<Task> call) =>
        (await call.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.NotFound);

    private static async Task ShouldBeInvalid(string field, Func<Task> call)
    {
        var refused = (await call.Should().ThrowAsync<RpcException>()).Which;
        refused.StatusCode.Should().Be(StatusCode.InvalidArgument);
        refused.Status.Detail.Should().StartWith(field + ": ");
    }

    private async Task<string> NewDomainAsync()
    {
        var name = AdminClients.NewDomainName();
        await _admin.CreateDomainAsync(new CreateDomainRequest { Domain = name });
        return name;
    }

    private async Task ExecuteAsync(string sql, params object[] values)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        await command.ExecuteNonQueryAsync();
    }

    private async Task<object?> ScalarAsync(string sql, params object[] values)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return await command.ExecuteScalarAsync();
    }
}
