using Kannon.Protos.Admin.ApiV1;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Tests.Infrastructure;
using MimeKit;
using Npgsql;

namespace Kannon.Tests.EndToEnd;

/// <summary>What the recipient sees: fields, encoding, header overrides, templates, scheduling.</summary>
public sealed class MessageContentTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Recipient_fields_win_over_global_fields_email_is_the_recipient_and_values_are_html_encoded_unless_raw()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres);
        var recipient = $"ann@{SendPathHarness.RecipientDomain}";
        var request = new SendHTMLReq
        {
            Sender = harness.Sender(),
            Subject = "{{ greeting }} {{ name }}",
            Html = "<html><body><p>{{ greeting }} {{ name }} from {{ team }} to {{ email }}</p><div>{{ snippet }}</div><div>{{ snippet | raw }}</div></body></html>",
            GlobalFields = { ["greeting"] = "Hello", ["name"] = "Everyone", ["team"] = "Team <Kannon>" },
            Recipients = { new Recipient { Email = recipient, Fields = { ["name"] = "Ann", ["snippet"] = "<b>bold</b>" } } },
        };

        await harness.Mailer.SendHTMLAsync(request);

        var message = await ReceivedAsync(harness, recipient);
        message.Subject.Should().Be("Hello Ann", "the recipient's own field wins over the global one (ADR 0008)");
        message.HtmlBody.Should().Contain($"Hello Ann from Team &lt;Kannon&gt; to {recipient}");
        message.HtmlBody.Should().Contain("<div>&lt;b&gt;bold&lt;/b&gt;</div>").And.Contain("<div><b>bold</b></div>");
    }

    [Fact]
    public async Task Header_overrides_change_the_visible_to_and_cc_but_not_the_envelope_recipient()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres);
        var recipient = $"real@{SendPathHarness.RecipientDomain}";
        var request = new SendHTMLReq
        {
            Sender = harness.Sender(),
            Subject = "s",
            Html = "<p>x</p>",
            Headers = new Headers { To = { "list@example.org" }, Cc = { "cc1@example.org", "cc2@example.org" } },
            Recipients = { new Recipient { Email = recipient } },
        };

        await harness.Mailer.SendHTMLAsync(request);

        var message = await ReceivedAsync(harness, recipient);
        message.To.Mailboxes.Select(m => m.Address).Should().Equal("list@example.org");
        message.Cc.Mailboxes.Select(m => m.Address).Should().Equal("cc1@example.org", "cc2@example.org");
        harness.Receiver.Messages.Should().ContainSingle().Which.To.Should().Equal(recipient);
    }

    [Fact]
    public async Task Send_template_uses_a_stored_template_and_a_future_schedule_waits()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres);
        var admin = harness.Host.Admin();
        var template = await admin.CreateTemplateAsync(new CreateTemplateReq { Domain = harness.Domain, Title = "welcome", Html = "<p>Welcome {{ name }}</p>" });
        var later = $"later@{SendPathHarness.RecipientDomain}";
        var now = $"now@{SendPathHarness.RecipientDomain}";

        var scheduled = await harness.Mailer.SendTemplateAsync(new SendTemplateReq
        {
            Sender = harness.Sender(),
            Subject = "later",
            TemplateId = template.Template.TemplateId,
            ScheduledTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow.AddHours(1)),
            Recipients = { new Recipient { Email = later, Fields = { ["name"] = "L" } } },
        });
        var immediate = await harness.Mailer.SendTemplateAsync(new SendTemplateReq
        {
            Sender = harness.Sender(),
            Subject = "now",
            TemplateId = template.Template.TemplateId,
            Recipients = { new Recipient { Email = now, Fields = { ["name"] = "N" } } },
        });

        immediate.TemplateId.Should().Be(template.Template.TemplateId);
        (await ReceivedAsync(harness, now)).HtmlBody.Should().Contain("Welcome N");
        scheduled.ScheduledTime.ToDateTime().Should().BeAfter(DateTime.UtcNow.AddMinutes(50));
        harness.Receiver.Messages.Should().NotContain(m => m.To.Contains(later), "a Batch scheduled an hour ahead is not sent before its time");
        var dataSource = (NpgsqlDataSource)harness.Host.Services.GetService(typeof(NpgsqlDataSource))!;
        await using var command = dataSource.CreateCommand("SELECT status FROM sending_pool_emails WHERE message_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = scheduled.MessageId });
        (await Eventually.ReturnsAsync(async () => (string?)await command.ExecuteScalarAsync(), s => s == "scheduled", Patience))
            .Should().Be("scheduled");
    }

    private static async Task<MimeMessage> ReceivedAsync(SendPathHarness harness, string recipient)
    {
        var received = await Eventually.ReturnsAsync(
            () => Task.FromResult(harness.Receiver.Messages.FirstOrDefault(m => m.To.Contains(recipient))),
            m => m is not null, Patience, $"a message for {recipient}");
        return MimeMessage.Load(new MemoryStream(received!.Raw));
    }
}
