using Kannon.Stats;
using Kannon.Tests.Infrastructure;
using MailKit.Net.Smtp;

namespace Kannon.Tests.Smtp;

public sealed class BounceReceiverTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private SmtpHarness _smtp = null!;

    public async Task InitializeAsync() => _smtp = await SmtpHarness.StartAsync(postgres, nats, new Dictionary<string, string?>
    {
        ["smtp:max_payload"] = "65536",
        ["smtp:max_recipients"] = "3",
    });

    public async Task DisposeAsync() => await _smtp.DisposeAsync();

    [Fact]
    public async Task A_failure_report_to_a_return_path_records_a_permanent_bounce_with_its_diagnostic()
    {
        const string recipient = "ann@example.org";
        var returnPath = _smtp.ReturnPath(recipient);

        await _smtp.SendAsync(DeliveryReportMessages.Dsn(returnPath, recipient, "failed", "5.1.1", "smtp; 550 5.1.1 user unknown"), returnPath);

        var bounce = (await _smtp.OutcomesAsync(_ => true)).Single();
        bounce.Subject.Should().Be("kannon.stats.bounced");
        bounce.Type.Should().Be(StatTypes.Bounced);
        bounce.MsgId.Should().StartWith("bounce:");
        bounce.Event.Email.Should().Be(recipient);
        bounce.Event.MessageId.Should().Be(_smtp.BatchId);
        bounce.Event.Domain.Should().Be(_smtp.Domain);
        bounce.Event.Data.Bounced.Permanent.Should().BeTrue();
        bounce.Event.Data.Bounced.Code.Should().Be(550u);
        bounce.Event.Data.Bounced.Msg.Should().Be("smtp; 550 5.1.1 user unknown");
        bounce.Event.Timestamp.ToDateTimeOffset().Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task A_failure_with_a_temporary_status_is_a_bounce_that_is_not_permanent()
    {
        const string recipient = "full@example.org";
        var returnPath = _smtp.ReturnPath(recipient);

        await _smtp.SendAsync(DeliveryReportMessages.Dsn(returnPath, recipient, "failed", "4.2.2", "smtp; 452 4.2.2 mailbox full"), returnPath);

        var bounce = (await _smtp.OutcomesAsync(_ => true)).Single();
        bounce.Event.Data.Bounced.Permanent.Should().BeFalse();
        bounce.Event.Data.Bounced.Code.Should().Be(452u);
    }

    [Theory]
    [InlineData("delayed", "4.4.1", "smtp; 421 4.4.1 connection timed out")]
    [InlineData("relayed", "2.0.0", null)]
    [InlineData("delivered", "2.0.0", "smtp; 250 2.0.0 ok")]
    [InlineData("expanded", "2.0.0", null)]
    public async Task A_report_that_is_not_a_failure_records_no_bounce(string action, string status, string? diagnostic)
    {
        var returnPath = _smtp.ReturnPath("later@example.org");
        await _smtp.SendAsync(DeliveryReportMessages.Dsn(returnPath, "later@example.org", action, status, diagnostic), returnPath);

        // A real failure sent after it: once that is stored, a bounce for the first would be too.
        var marker = _smtp.ReturnPath("marker@example.org");
        await _smtp.SendAsync(DeliveryReportMessages.Dsn(marker, "marker@example.org", "failed", "5.1.1", "smtp; 550 5.1.1 no"), marker);
        await _smtp.OutcomesAsync(s => s.Email == "marker@example.org");

        (await _smtp.OutcomesAsync()).Should().ContainSingle().Which.Event.Email.Should().Be("marker@example.org");
    }

    [Fact]
    public async Task A_report_sent_twice_is_recorded_once()
    {
        const string recipient = "twice@example.org";
        var returnPath = _smtp.ReturnPath(recipient);
        var report = DeliveryReportMessages.Dsn(returnPath, recipient, "failed", "5.1.1", "smtp; 550 5.1.1 user unknown", boundary: "fixed-boundary");

        await _smtp.SendAsync(report, returnPath);
        await _smtp.SendAsync(report, returnPath);
        var marker = _smtp.ReturnPath("marker@example.org");
        await _smtp.SendAsync(DeliveryReportMessages.Dsn(marker, "marker@example.org", "failed", "5.1.1", "smtp; 550 5.1.1 no"), marker);
        await _smtp.OutcomesAsync(s => s.Email == "marker@example.org");

        (await _smtp.OutcomesAsync()).Where(o => o.Event.Email == recipient).Should().ContainSingle();
    }

    [Fact]
    public async Task A_plain_text_bounce_with_a_5xx_diagnostic_code_records_a_permanent_bounce()
    {
        const string recipient = "old@example.org";
        var returnPath = _smtp.ReturnPath(recipient);
        var text = DeliveryReportMessages.PlainText(returnPath,
            "Hi. This is the mail transport at old.example.net.\n" +
            "I could not deliver your message:\n\n" +
            $"<{recipient}>:\n" +
            "Diagnostic-Code: SMTP; 554 5.7.1 rejected by policy\n");

        await _smtp.SendAsync(text, returnPath);

        var bounce = (await _smtp.OutcomesAsync(_ => true)).Single();
        bounce.Event.Email.Should().Be(recipient);
        bounce.Event.Data.Bounced.Permanent.Should().BeTrue();
        bounce.Event.Data.Bounced.Code.Should().Be(554u);
        bounce.Event.Data.Bounced.Msg.Should().Be("SMTP; 554 5.7.1 rejected by policy");
    }

    [Fact]
    public async Task A_plain_text_bounce_quoting_a_5xx_reply_records_a_bounce()
    {
        const string recipient = "quoted@example.org";
        var returnPath = _smtp.ReturnPath(recipient);
        var text = DeliveryReportMessages.PlainText(returnPath,
            "Delivery to the following recipient failed permanently:\n\n" +
            $"    {recipient}\n\n" +
            "The remote server said:\n" +
            "550-5.1.1 The email account that you tried to reach does not exist.\n");

        await _smtp.SendAsync(text, returnPath);

        var bounce = (await _smtp.OutcomesAsync(_ => true)).Single();
        bounce.Event.Data.Bounced.Code.Should().Be(550u);
        bounce.Event.Data.Bounced.Msg.Should().StartWith("550-5.1.1 The email account");
    }

    [Fact]
    public async Task Mail_that_says_nothing_recognisable_is_accepted_and_records_no_bounce()
    {
        var returnPath = _smtp.ReturnPath("away@example.org");
        await _smtp.SendAsync(DeliveryReportMessages.PlainText(returnPath, "I am out of the office until Monday.\nError 500 apples were delivered."), returnPath);
        var marker = _smtp.ReturnPath("marker@example.org");
        await _smtp.SendAsync(DeliveryReportMessages.Dsn(marker, "marker@example.org", "failed", "5.1.1", "smtp; 550 5.1.1 no"), marker);
        await _smtp.OutcomesAsync(s => s.Email == "marker@example.org");

        (await _smtp.OutcomesAsync()).Should().ContainSingle().Which.Event.Email.Should().Be("marker@example.org");
    }

    [Theory]
    [InlineData("someone@{domain}")]
    [InlineData("postmaster@{domain}")]
    [InlineData("victim@example.com")]
    [InlineData("bump_YW5uQGV4YW1wbGUub3Jn+msg_abc@unknown-{random}.example.com")]
    [InlineData("bump_not-base64!+msg_abc@{domain}")]
    [InlineData("bump_YW5uQGV4YW1wbGUub3Jn@{domain}")]
    [InlineData("bump_YW5uQGV4YW1wbGUub3Jn+nomsg@{domain}")]
    public async Task Mail_for_anything_but_a_return_path_of_a_known_domain_is_refused_at_RCPT(string address)
    {
        var to = address.Replace("{domain}", _smtp.Domain, StringComparison.Ordinal)
            .Replace("{random}", Guid.NewGuid().ToString("N")[..8], StringComparison.Ordinal);

        var send = () => _smtp.SendAsync(DeliveryReportMessages.PlainText(to, "hello"), to);

        var refused = (await send.Should().ThrowAsync<SmtpCommandException>()).Which;
        refused.ErrorCode.Should().Be(SmtpErrorCode.RecipientNotAccepted);
        ((int)refused.StatusCode).Should().Be(550);
        refused.Message.Should().Contain("5.1.1");
    }

    [Fact]
    public async Task More_recipients_than_max_recipients_are_refused_with_452()
    {
        await using var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        (await session.CommandAsync("EHLO mx.example.net")).Should().StartWith("250");
        (await session.CommandAsync("MAIL FROM:<>")).Should().StartWith("250");
        for (var i = 0; i < 3; i++)
        {
            (await session.CommandAsync($"RCPT TO:<{_smtp.ReturnPath($"r{i}@example.org")}>")).Should().StartWith("250");
        }

        (await session.CommandAsync($"RCPT TO:<{_smtp.ReturnPath("r3@example.org")}>")).Should().StartWith("452 4.5.3");
    }

    [Fact]
    public async Task The_size_limit_is_advertised_and_a_larger_message_is_refused_with_552()
    {
        await using (var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint))
        {
            session.Greeting.Should().StartWith("220 bounces.kannon.test");
            (await session.CommandAsync("EHLO mx.example.net")).Should().Contain("SIZE 65536");
            (await session.CommandAsync("MAIL FROM:<> SIZE=70000")).Should().StartWith("552");
        }

        await using (var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint))
        {
            await session.CommandAsync("EHLO mx.example.net");
            (await session.CommandAsync("MAIL FROM:<>")).Should().StartWith("250");
            (await session.CommandAsync($"RCPT TO:<{_smtp.ReturnPath("big@example.org")}>")).Should().StartWith("250");
            (await session.CommandAsync("DATA")).Should().StartWith("354");
            var line = new string('x', 998) + "\r\n";
            await session.WriteAsync(DeliveryReportMessages.Bytes("Subject: big\r\n\r\n" + string.Concat(Enumerable.Repeat(line, 80)) + ".\r\n"));
            (await session.ReplyAsync()).Should().StartWith("552");
        }

        var returnPath = _smtp.ReturnPath("afterwards@example.org");
        await _smtp.SendAsync(DeliveryReportMessages.Dsn(returnPath, "afterwards@example.org", "failed", "5.1.1", "smtp; 550 5.1.1 no"), returnPath);
        (await _smtp.OutcomesAsync(_ => true)).Should().ContainSingle().Which.Event.Email.Should().Be("afterwards@example.org");
    }
}
