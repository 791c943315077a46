using Grpc.Core.Interceptors;
using Grpc.Core;
using Kannon.Api;
using Kannon.Hosting;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Protos.Suppression.ApiV1;
using Kannon.Suppression;
using Kannon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Kannon.Tests.Suppression;

/// <summary>The Suppression API against a real API host on real PostgreSQL.</summary>
public sealed class SuppressionApiTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private KannonTestHost _host = null!;
    private SuppressionApi.SuppressionApiClient _api = null!;

    public async Task InitializeAsync()
    {
        _host = await KannonTestHost.StartAsync(new Roles(Api: true), KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url));
        _api = Client(_host, KannonTestHost.AdminToken);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task List_pages_newest_first_with_the_total_and_filters_by_reason_and_prefix()
    {
        var domain = await NewDomainAsync();
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        for (var i = 0; i < 5; i++)
        {
            await InsertAsync(domain, $"hb{i}@example.org", "hard_bounce", start.AddMinutes(i));
        }

        await InsertAsync(domain, "Complainer@example.org", "complaint", start.AddMinutes(10));
        await InsertAsync(domain, "leaver@example.org", "unsubscribe", start.AddMinutes(11));

        var first = await _api.ListAsync(new ListSuppressionsReq { Domain = domain, Take = 3 });
        var second = await _api.ListAsync(new ListSuppressionsReq { Domain = domain, Skip = 3, Take = 3 });
        var last = await _api.ListAsync(new ListSuppressionsReq { Domain = domain, Skip = 6, Take = 3 });

        first.Total.Should().Be(7);
        first.Suppressions.Select(s => s.Email).Should().Equal("leaver@example.org", "Complainer@example.org", "hb4@example.org");
        second.Suppressions.Select(s => s.Email).Should().Equal("hb3@example.org", "hb2@example.org", "hb1@example.org");
        last.Suppressions.Select(s => s.Email).Should().Equal("hb0@example.org");
        last.Total.Should().Be(7);

        var bounces = await _api.ListAsync(new ListSuppressionsReq { Domain = domain, Reason = "hard_bounce" });
        bounces.Total.Should().Be(5);
        bounces.Suppressions.Should().OnlyContain(s => s.Reason == "hard_bounce");

        var prefixed = await _api.ListAsync(new ListSuppressionsReq { Domain = domain, AddressPrefix = "compl" });
        prefixed.Suppressions.Should().ContainSingle().Which.Email.Should().Be("Complainer@example.org");

        // LIKE's wildcards in a prefix are literal characters.
        (await _api.ListAsync(new ListSuppressionsReq { Domain = domain, AddressPrefix = "hb_" })).Total.Should().Be(0);
        (await _api.ListAsync(new ListSuppressionsReq { Domain = domain, AddressPrefix = "%" })).Total.Should().Be(0);
    }

    [Fact]
    public async Task One_domains_list_never_shows_or_changes_anothers()
    {
        var a = await NewDomainAsync();
        var b = await NewDomainAsync();
        await _api.AddAsync(new AddSuppressionReq { Domain = a, Email = "shared@example.org", Note = "asked by phone" });

        (await _api.ListAsync(new ListSuppressionsReq { Domain = b })).Total.Should().Be(0);
        (await Status(() => _api.GetAsync(new GetSuppressionReq { Domain = b, Email = "shared@example.org" }))).Should().Be(StatusCode.NotFound);
        (await _api.RemoveAsync(new RemoveSuppressionReq { Domain = b, Email = "shared@example.org" })).Removed.Should().BeFalse();
        (await _api.GetAsync(new GetSuppressionReq { Domain = a, Email = "shared@example.org" })).Reason.Should().Be("manual");
    }

    [Fact]
    public async Task Add_is_manual_with_the_note_and_idempotent_and_keeps_an_existing_rows_evidence()
    {
        var domain = await NewDomainAsync();

        var added = await _api.AddAsync(new AddSuppressionReq { Domain = domain, Email = "ann@example.org", Note = "asked by phone" });
        var again = await _api.AddAsync(new AddSuppressionReq { Domain = domain, Email = "ann@example.org", Note = "second note" });

        added.Reason.Should().Be("manual");
        added.Note.Should().Be("asked by phone");
        added.Source.Should().Be("api");
        added.CreatedAt.ToDateTimeOffset().Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
        again.Should().Be(added, "a second Add keeps the first row");
        (await _api.ListAsync(new ListSuppressionsReq { Domain = domain })).Total.Should().Be(1);

        await InsertAsync(domain, "bounced@example.org", "hard_bounce", DateTimeOffset.UtcNow, statusCode: "5.1.1");
        var kept = await _api.AddAsync(new AddSuppressionReq { Domain = domain, Email = "bounced@example.org", Note = "by hand" });
        kept.Reason.Should().Be("hard_bounce");
        kept.StatusCode.Should().Be("5.1.1");
        kept.Note.Should().BeEmpty();
    }

    [Fact]
    public async Task Get_matches_the_domain_part_in_any_case_but_the_local_part_exactly()
    {
        var domain = await NewDomainAsync();
        await _api.AddAsync(new AddSuppressionReq { Domain = domain, Email = "Ann@Example.org" });

        (await _api.GetAsync(new GetSuppressionReq { Domain = domain, Email = "Ann@example.ORG" })).Email.Should().Be("Ann@example.org", "stored as the send path looks it up");
        (await Status(() => _api.GetAsync(new GetSuppressionReq { Domain = domain, Email = "ann@example.org" })))
            .Should().Be(StatusCode.NotFound);
    }

    [Fact]
    public async Task An_address_added_by_hand_is_suppressed_for_the_send_path_whatever_the_case_of_its_domain()
    {
        var domain = await NewDomainAsync();
        await _api.AddAsync(new AddSuppressionReq { Domain = domain, Email = "Bea@Example.ORG" });

        await using var connection = await _host.Services.GetRequiredService<NpgsqlDataSource>().OpenConnectionAsync();
        // Both ways intake looks: the whole list of a Domain that has few, and a query for a Domain that has many.
        var listed = await SuppressionList.ListedUpToAsync(connection, domain, 2, CancellationToken.None);
        string[] presented = ["Bea@example.org", "bea@example.org"];
        presented.Where(e => listed!.Contains(SuppressionList.Normalize(e)))
            .Should().Equal(["Bea@example.org"], "intake compares the local part exactly and the domain part in any case");
        (await SuppressionList.QueryAmongAsync(connection, domain, presented, CancellationToken.None))
            .Should().BeEquivalentTo(["Bea@example.org"]);
    }

    [Fact]
    public async Task Remove_deletes_the_row_and_records_the_removal_and_says_false_when_there_was_nothing()
    {
        var domain = await NewDomainAsync();
        await InsertAsync(domain, "back@example.org", "complaint", DateTimeOffset.UtcNow);

        var removed = await _api.RemoveAsync(new RemoveSuppressionReq { Domain = domain, Email = "back@example.org", Note = "ticket 42" });
        var again = await _api.RemoveAsync(new RemoveSuppressionReq { Domain = domain, Email = "back@example.org", Note = "again" });

        removed.Removed.Should().BeTrue();
        again.Removed.Should().BeFalse();
        (await Status(() => _api.GetAsync(new GetSuppressionReq { Domain = domain, Email = "back@example.org" }))).Should().Be(StatusCode.NotFound);
        await using var audit = postgres.DataSource.CreateCommand("SELECT email, reason, note, removed_at FROM suppression_removals WHERE domain = $1");
        audit.Parameters.Add(new NpgsqlParameter { Value = domain });
        await using var reader = await audit.ExecuteReaderAsync();
        (await reader.ReadAsync()).Should().BeTrue("the removal is recorded");
        reader.GetString(0).Should().Be("back@example.org");
        reader.GetString(1).Should().Be("complaint");
        reader.GetString(2).Should().Be("ticket 42");
        reader.GetFieldValue<DateTimeOffset>(3).Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
        (await reader.ReadAsync()).Should().BeFalse("a removal that removed nothing records nothing");
    }

    [Fact]
    public async Task Invalid_requests_are_invalid_argument_naming_the_field_and_an_unknown_domain_is_not_found()
    {
        var domain = await NewDomainAsync();

        (await Refusal(() => _api.ListAsync(new ListSuppressionsReq { Domain = "" }))).Should().Be((StatusCode.InvalidArgument, "domain"));
        (await Refusal(() => _api.ListAsync(new ListSuppressionsReq { Domain = "Upper.Example.com" }))).Should().Be((StatusCode.InvalidArgument, "domain"));
        (await Refusal(() => _api.ListAsync(new ListSuppressionsReq { Domain = domain, Reason = "bounce" }))).Should().Be((StatusCode.InvalidArgument, "reason"));
        (await Refusal(() => _api.ListAsync(new ListSuppressionsReq { Domain = domain, AddressPrefix = "a\nb" }))).Should().Be((StatusCode.InvalidArgument, "address_prefix"));
        (await Refusal(() => _api.GetAsync(new GetSuppressionReq { Domain = domain, Email = "" }))).Should().Be((StatusCode.InvalidArgument, "email"));
        (await Refusal(() => _api.AddAsync(new AddSuppressionReq { Domain = domain, Email = "no-at-sign" }))).Should().Be((StatusCode.InvalidArgument, "email"));
        (await Refusal(() => _api.AddAsync(new AddSuppressionReq { Domain = domain, Email = "a@example.org", Note = new string('n', 1001) }))).Should().Be((StatusCode.InvalidArgument, "note"));
        (await Refusal(() => _api.RemoveAsync(new RemoveSuppressionReq { Domain = domain, Email = "two words@example.org" }))).Should().Be((StatusCode.InvalidArgument, "email"));

        var unknown = AdminClients.NewDomainName("nosuch");
        (await Status(() => _api.ListAsync(new ListSuppressionsReq { Domain = unknown }))).Should().Be(StatusCode.NotFound);
        (await Status(() => _api.AddAsync(new AddSuppressionReq { Domain = unknown, Email = "a@example.org" }))).Should().Be(StatusCode.NotFound);
        (await Status(() => _api.RemoveAsync(new RemoveSuppressionReq { Domain = unknown, Email = "a@example.org" }))).Should().Be(StatusCode.NotFound);
    }

    [Fact]
    public async Task Every_method_needs_the_operator_token()
    {
        var domain = await NewDomainAsync();
        var wrong = Client(_host, "not-the-operator-token");

        (await Status(() => wrong.ListAsync(new ListSuppressionsReq { Domain = domain }))).Should().Be(StatusCode.Unauthenticated);
        (await Status(() => wrong.GetAsync(new GetSuppressionReq { Domain = domain, Email = "a@example.org" }))).Should().Be(StatusCode.Unauthenticated);
        (await Status(() => wrong.AddAsync(new AddSuppressionReq { Domain = domain, Email = "a@example.org" }))).Should().Be(StatusCode.Unauthenticated);
        (await Status(() => wrong.RemoveAsync(new RemoveSuppressionReq { Domain = domain, Email = "a@example.org" }))).Should().Be(StatusCode.Unauthenticated);
        (await _api.ListAsync(new ListSuppressionsReq { Domain = domain })).Total.Should().Be(0, "the refused Add added nothing");
    }

    private static SuppressionApi.SuppressionApiClient Client(KannonTestHost host, string token) =>
        new(host.Channel.Intercept(metadata =>
        {
            metadata.Add(AdminTokenInterceptor.Header, token);
            return metadata;
        }));

    private async Task<string> NewDomainAsync()
    {
        var name = AdminClients.NewDomainName("supp");
        await _host.Admin().CreateDomainAsync(new CreateDomainRequest { Domain = name });
        return name;
    }

    // What the Dispatcher's consumer of kannon.bounce writes (another module): a row with evidence.
    private async Task InsertAsync(string domain, string email, string reason, DateTimeOffset createdAt, string statusCode = "")
    {
        await using var insert = postgres.DataSource.CreateCommand(
            "INSERT INTO suppressions (domain, email, reason, status_code, source, observed_at, created_at) VALUES ($1, $2, $3, $4, 'mx.example.org', $5, $5)");
        insert.Parameters.Add(new NpgsqlParameter { Value = domain });
        insert.Parameters.Add(new NpgsqlParameter { Value = email });
        insert.Parameters.Add(new NpgsqlParameter { Value = reason });
        insert.Parameters.Add(new NpgsqlParameter { Value = statusCode });
        insert.Parameters.Add(new NpgsqlParameter { Value = createdAt });
        await insert.ExecuteNonQueryAsync();
    }

    private static async Task<StatusCode> Status<T>(Func<AsyncUnaryCall<T>> call)
    {
        try
        {
            await call();
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }

        return StatusCode.OK;
    }

    // The status and the field the message starts with ("<field>: <problem>").
    private static async Task<(StatusCode, string)> Refusal<T>(Func<AsyncUnaryCall<T>> call)
    {
        try
        {
            await call();
        }
        catch (RpcException e)
        {
            return (e.StatusCode, e.Status.Detail.Split(':')[0]);
        }

        return (StatusCode.OK, "");
    }
}
