using System.Diagnostics;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Kannon.Hosting;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;
using MailerClient = Kannon.Protos.Mailer.ApiV1.Mailer.MailerClient;

namespace Kannon.Tests.Mailer;

public sealed class MailerIntakeTests(PostgresFixture postgres, NatsFixture nats, ITestOutputHelper output)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private KannonTestHost _host = null!;
    private string _domain = "";
    private MailerClient _mailer = null!;
    private string _basic = "";

    public async Task InitializeAsync()
    {
        var settings = KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url);
        settings["validator:poll_interval"] = "200ms";
        _host = await KannonTestHost.StartAsync(new Roles(Api: true, Validator: true), settings);
        _domain = AdminClients.NewDomainName("mailer");
        var admin = _host.Admin();
        await admin.CreateDomainAsync(new CreateDomainRequest { Domain = _domain });
        var key = await admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = _domain, Name = "test" });
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_domain}:{key.Key}"));
        _basic = basic;
        _mailer = new MailerClient(_host.Channel.Intercept(m =>
        {
            m.Add("authorization", $"Basic {basic}");
            return m;
        }));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_send_stores_the_batch_rejects_unusable_recipients_alone_and_collapses_duplicates()
    {
        var request = Html("Hello {{ name }}", "<p>Hi {{ name }}</p>");
        request.Recipients.Add(new Recipient { Email = "ann@example.org", Fields = { ["name"] = "Ann" } });
        request.Recipients.Add(new Recipient { Email = "ANN@example.org" });
        request.Recipients.Add(new Recipient { Email = "not an address" });
        request.Recipients.Add(new Recipient { Email = "" });
        request.Recipients.Add(new Recipient { Email = "bob@example.org" });

        var response = await _mailer.SendHTMLAsync(request);

        response.AcceptedCount.Should().Be(2);
        response.RejectedCount.Should().Be(2);
        response.RejectedRecipients.Select(r => r.Reason).Should().AllBe("invalid_email");
        response.MessageId.Should().StartWith("msg_").And.EndWith("@" + _domain);
        response.TemplateId.Should().StartWith("template_").And.EndWith("@" + _domain);
        (await CountAsync("SELECT count(*) FROM sending_pool_emails WHERE message_id = $1", response.MessageId)).Should().Be(2);
        (await CountAsync("SELECT count(*) FROM messages WHERE message_id = $1", response.MessageId)).Should().Be(1);
    }

    [Fact]
    public async Task The_validator_schedules_valid_addresses_and_removes_invalid_ones()
    {
        var request = Html("s", "<p>x</p>");
        request.Recipients.Add(new Recipient { Email = "John.Smith@Example.COM" });
        request.Recipients.Add(new Recipient { Email = "üñî@bücher.example" });
        request.Recipients.Add(new Recipient { Email = "a..b@example.org" });
        request.Recipients.Add(new Recipient { Email = "x@-bad-.example" });

        var response = await _mailer.SendHTMLAsync(request);

        response.AcceptedCount.Should().Be(4);
        await Eventually.HoldsAsync(async () =>
            await CountAsync("SELECT count(*) FROM sending_pool_emails WHERE message_id = $1 AND status <> 'scheduled'", response.MessageId) == 0,
            because: "every Delivery is validated");
        (await CountAsync("SELECT count(*) FROM sending_pool_emails WHERE message_id = $1", response.MessageId)).Should().Be(2,
            "mixed case and internationalised addresses are valid; consecutive dots and a hyphen-edged label are not");
    }

    [Theory]
    [InlineData("subject", "Hello\r\nBcc: victim@example.org")]
    [InlineData("sender.alias", "Evil\nBcc: x@y.z")]
    [InlineData("sender.email", "not-an-address")]
    [InlineData("headers.to", "broken@")]
    [InlineData("recipients", "")]
    public async Task Bad_requests_get_invalid_argument_naming_the_field(string field, string value)
    {
        var request = Html("s", "<p>x</p>");
        request.Recipients.Add(new Recipient { Email = "ok@example.org" });
        switch (field)
        {
            case "subject": request.Subject = value; break;
            case "sender.alias": request.Sender.Alias = value; break;
            case "sender.email": request.Sender.Email = value; break;
            case "headers.to": request.Headers = new Headers { To = { value } }; break;
            case "recipients": request.Recipients.Clear(); break;
        }

        var call = async () => await _mailer.SendHTMLAsync(request);

        (await call.Should().ThrowAsync<RpcException>()).Which.Should().Match<RpcException>(e =>
            e.StatusCode == StatusCode.InvalidArgument && e.Status.Detail.StartsWith(field));
    }

    [Fact]
    public async Task A_sender_outside_the_keys_domain_is_permission_denied()
    {
        var request = Html("s", "<p>x</p>");
        request.Sender.Email = "ceo@another-company.example";
        request.Recipients.Add(new Recipient { Email = "ok@example.org" });

        var call = async () => await _mailer.SendHTMLAsync(request);

        (await call.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
    }

    [Fact]
    public async Task An_unknown_template_is_not_found_and_a_broken_one_is_invalid()
    {
        var template = new SendTemplateReq { Sender = new Kannon.Protos.Mailer.Types.Sender { Email = $"news@{_domain}", Alias = "News" }, Subject = "s", TemplateId = $"template_nope@{_domain}" };
        template.Recipients.Add(new Recipient { Email = "ok@example.org" });
        var unknown = async () => await _mailer.SendTemplateAsync(template);
        (await unknown.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.NotFound);

        var broken = Html("s", "<p>{% if %}</p>");
        broken.Recipients.Add(new Recipient { Email = "ok@example.org" });
        var call = async () => await _mailer.SendHTMLAsync(broken);
        (await call.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.InvalidArgument);
    }

    [Fact]
    public async Task The_originals_placeholders_pass_intake_even_where_plain_liquid_would_refuse_them()
    {
        var request = Html("Hi {{ first-name }}", "<p>{{ user.name }} {{ a@b }} {{ prénom }}</p>");
        request.Recipients.Add(new Recipient { Email = "ok@example.org", Fields = { ["a@b"] = "x" } });

        var response = await _mailer.SendHTMLAsync(request);

        response.AcceptedCount.Should().Be(1);
    }

    [Theory]
    [InlineData("email", "recipients[2].email")]
    [InlineData("field value", "recipients[2].fields[\"name\"]")]
    [InlineData("field key", "recipients[2].fields (a key)")]
    public async Task A_recipient_holding_a_NUL_is_invalid_argument_naming_it_and_nothing_is_stored(string where, string path)
    {
        // Recipients are read while they are copied (ADR 0022): the refusal comes mid-COPY and the whole call rolls back.
        var request = Html("s", "<p>x</p>");
        request.Recipients.Add(new Recipient { Email = "ann@example.org" });
        request.Recipients.Add(new Recipient { Email = "bob@example.org" });
        var bad = new Recipient { Email = "eve@example.org", Fields = { ["name"] = "Eve" } };
        switch (where)
        {
            case "email": bad.Email = "e\0ve@example.org"; break;
            case "field value": bad.Fields["name"] = "E\0ve"; break;
            case "field key": bad.Fields["n\0"] = "x"; break;
        }

        request.Recipients.Add(bad);

        var call = async () => await _mailer.SendHTMLAsync(request);

        var refused = (await call.Should().ThrowAsync<RpcException>()).Which;
        refused.StatusCode.Should().Be(StatusCode.InvalidArgument);
        refused.Status.Detail.Should().Be($"{path}: contains a NUL character (U+0000), which no text may hold");
        (await CountAsync("SELECT count(*) FROM messages WHERE domain = $1", _domain)).Should().Be(0);
        (await CountAsync("SELECT count(*) FROM sending_pool_emails WHERE domain = $1", _domain)).Should().Be(0);
    }

    [Fact]
    public async Task A_malformed_recipient_is_invalid_argument_and_nothing_is_stored()
    {
        var request = Html("s", "<p>x</p>");
        request.Recipients.Add(new Recipient { Email = "ann@example.org" });
        // Then a recipient whose email claims 5 bytes and has 1: the request's framing is intact, the recipient is not.
        byte[] broken = [(6 << 3) | 2, 3, (1 << 3) | 2, 5, (byte)'a'];
        var body = request.ToByteArray().Concat(broken).ToArray();
        var method = Kannon.Protos.Mailer.ApiV1.Mailer.Descriptor.FindMethodByName("SendHTML");
        var raw = new Method<byte[], byte[]>(MethodType.Unary, Kannon.Protos.Mailer.ApiV1.Mailer.Descriptor.FullName, method.Name,
            Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));

        var status = await Kannon.Tests.Reliability.FuzzCall.InvokeAsync(_host.Channel.CreateCallInvoker(), raw, body,
            new Metadata { { "authorization", $"Basic {_basic}" } }, TimeSpan.FromSeconds(30));

        status.StatusCode.Should().Be(StatusCode.InvalidArgument);
        status.Detail.Should().StartWith("recipients[1]: not a valid Recipient: ");
        (await CountAsync("SELECT count(*) FROM messages WHERE domain = $1", _domain)).Should().Be(0);
    }

    [Fact]
    public async Task Suppressed_addresses_are_rejected_whether_the_domains_list_is_shorter_or_longer_than_the_batch()
    {
        // Shorter: checked row by row while copying. Longer: asked of the database after the copy, and their rows taken out.
        await SuppressAsync("bob@example.org");
        var small = Html("s", "<p>x</p>");
        small.Recipients.Add(new Recipient { Email = "ann@example.org" });
        small.Recipients.Add(new Recipient { Email = "bob@Example.ORG" });
        small.Recipients.Add(new Recipient { Email = "cat@example.org" });

        var first = await _mailer.SendHTMLAsync(small);

        first.AcceptedCount.Should().Be(2);
        first.RejectedRecipients.Select(r => (r.Email, r.Reason)).Should().Equal(("bob@Example.ORG", "suppressed"));
        (await CountAsync("SELECT count(*) FROM sending_pool_emails WHERE message_id = $1", first.MessageId)).Should().Be(2);

        await SuppressAsync("cat@example.org", "dan@example.org", "eve@example.org", "fay@example.org");
        var second = await _mailer.SendHTMLAsync(small);

        second.AcceptedCount.Should().Be(1);
        second.RejectedRecipients.Select(r => (r.Email, r.Reason)).Should().Equal(("bob@Example.ORG", "suppressed"), ("cat@example.org", "suppressed"));
        (await CountAsync("SELECT count(*) FROM sending_pool_emails WHERE message_id = $1", second.MessageId)).Should().Be(1);
    }

    [Fact]
    public async Task The_start_up_rehearsal_runs_a_whole_intake_and_stores_nothing()
    {
        const string counts = """
            SELECT (SELECT count(*) FROM domains) || '/' || (SELECT count(*) FROM messages) || '/' || (SELECT count(*) FROM templates)
                || '/' || (SELECT count(*) FROM sending_pool_emails)
            """;
        await using var before = postgres.DataSource.CreateCommand(counts);
        var was = (string)(await before.ExecuteScalarAsync())!;

        await new Kannon.Mailer.BatchIntake(postgres.DataSource, TimeProvider.System).RehearseAsync(CancellationToken.None);

        await using var after = postgres.DataSource.CreateCommand(counts);
        ((string)(await after.ExecuteScalarAsync())!).Should().Be(was);
    }

    [Fact]
    public async Task One_call_accepts_100000_recipients()
    {
        var request = Html("Hi {{ n }}", "<p>{{ n }}</p>");
        for (var i = 0; i < 100_000; i++)
        {
            request.Recipients.Add(new Recipient { Email = $"user{i}@bulk.example.org", Fields = { ["n"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) } });
        }

        var stopwatch = Stopwatch.StartNew();
        var response = await _mailer.SendHTMLAsync(request, deadline: DateTime.UtcNow.AddMinutes(2));
        stopwatch.Stop();

        response.AcceptedCount.Should().Be(100_000);
        (await CountAsync("SELECT count(*) FROM sending_pool_emails WHERE message_id = $1", response.MessageId)).Should().Be(100_000);
        output.WriteLine($"100,000 recipients accepted in {stopwatch.ElapsedMilliseconds} ms ({100_000 / stopwatch.Elapsed.TotalSeconds:F0} recipients/s)");
    }

    [Fact]
    public async Task Each_delivery_keeps_its_fields_over_the_global_ones_and_the_batchs_tracking()
    {
        var request = Html("Hello {{ name }}", "<p>Hi {{ name }}</p>");
        request.GlobalFields.Add("name", "friend");
        request.GlobalFields.Add("shop", "Corner \"Shop\"");
        request.Recipients.Add(new Recipient { Email = "ann@example.org", Fields = { ["name"] = "Ann Élise", ["code"] = "a\\b\n<&>" } });
        request.Recipients.Add(new Recipient { Email = "bob@example.org" });
        request.Tracking = new Kannon.Protos.Tracking.Types.TrackingPolicy { Opens = Kannon.Protos.Tracking.Types.TrackingMode.Anonymous };

        var response = await _mailer.SendHTMLAsync(request);

        response.AcceptedCount.Should().Be(2);
        (await DeliveryAsync(response.MessageId, "ann@example.org")).Should().Be(
            ("""{"code": "a\\b\n<&>", "name": "Ann Élise", "shop": "Corner \"Shop\""}""", """{"links": "identified", "opens": "anonymous"}"""));
        (await DeliveryAsync(response.MessageId, "bob@example.org")).Should().Be(
            ("""{"name": "friend", "shop": "Corner \"Shop\""}""", """{"links": "identified", "opens": "anonymous"}"""));
    }

    [Fact]
    public async Task A_batch_without_fields_or_tracking_stores_empty_fields_and_the_default_policy()
    {
        // Intake leaves both columns to their defaults here: the Pool's tracking default must stay TrackingPolicy.Default.
        var request = Html("Hello", "<p>Hi</p>");
        request.Recipients.Add(new Recipient { Email = "ann@example.org" });

        var response = await _mailer.SendHTMLAsync(request);

        Kannon.Tracking.TrackingPolicy.Default.Should().Be(new Kannon.Tracking.TrackingPolicy("identified", "identified"));
        (await DeliveryAsync(response.MessageId, "ann@example.org")).Should().Be(("{}", """{"links": "identified", "opens": "identified"}"""));
    }

    private async Task<(string Fields, string Tracking)> DeliveryAsync(string batch, string email)
    {
        await using var command = postgres.DataSource.CreateCommand(
            "SELECT fields::text, tracking::text FROM sending_pool_emails WHERE message_id = $1 AND email = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = batch });
        command.Parameters.Add(new NpgsqlParameter { Value = email });
        await using var reader = await command.ExecuteReaderAsync();
        (await reader.ReadAsync()).Should().BeTrue();
        return (reader.GetString(0), reader.GetString(1));
    }

    private SendHTMLReq Html(string subject, string html) => new()
    {
        Sender = new Kannon.Protos.Mailer.Types.Sender { Email = $"news@{_domain}", Alias = "News" },
        Subject = subject,
        Html = html,
    };

    private async Task SuppressAsync(params string[] emails)
    {
        foreach (var email in emails)
        {
            await using var command = postgres.DataSource.CreateCommand(
                "INSERT INTO suppressions (domain, email, reason, source) VALUES ($1, $2, 'manual', 'api')");
            command.Parameters.Add(new NpgsqlParameter { Value = _domain });
            command.Parameters.Add(new NpgsqlParameter { Value = email });
            await command.ExecuteNonQueryAsync();
        }
    }

    private async Task<long> CountAsync(string sql, string value)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = value });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
