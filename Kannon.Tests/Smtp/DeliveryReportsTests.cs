using System.Text;
using Kannon.Smtp;
using MimeKit;

namespace Kannon.Tests.Smtp;

public sealed class DeliveryReportsTests
{
    // The bounce itself; what the report said (action, status, …) is checked on its own where it matters.
    private static FluentAssertions.Equivalency.EquivalencyAssertionOptions<ReportVerdict> Verdict(FluentAssertions.Equivalency.EquivalencyAssertionOptions<ReportVerdict> options) =>
        options.Including(v => v.IsBounce).Including(v => v.Permanent).Including(v => v.Code).Including(v => v.Message);

    private static ReportVerdict Read(string raw, string recipient = "ann@example.org") =>
        DeliveryReports.Read(MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(raw))), recipient);

    [Fact]
    public void A_failed_block_is_a_permanent_bounce_with_the_diagnostic_code()
    {
        var verdict = Read(DeliveryReportMessages.Dsn("rp@x.example", "ann@example.org", "failed", "5.1.1", "smtp; 550 5.1.1 user unknown"));

        verdict.Should().BeEquivalentTo(ReportVerdict.Bounced(true, 550, "smtp; 550 5.1.1 user unknown"), Verdict);
    }

    [Fact]
    public void A_folded_diagnostic_is_unfolded()
    {
        var raw = DeliveryReportMessages.Dsn("rp@x.example", "ann@example.org", "failed", "5.7.1", "smtp; 554 5.7.1 message rejected\r\n    because of policy");

        Read(raw).Should().BeEquivalentTo(ReportVerdict.Bounced(true, 554, "smtp; 554 5.7.1 message rejected because of policy"), Verdict);
    }

    [Fact]
    public void Without_a_diagnostic_the_code_follows_the_status_class()
    {
        Read(DeliveryReportMessages.Dsn("rp@x.example", "ann@example.org", "failed", "5.2.2 (mailbox full)", null))
            .Should().BeEquivalentTo(ReportVerdict.Bounced(true, 550, "5.2.2"), Verdict);
        Read(DeliveryReportMessages.Dsn("rp@x.example", "ann@example.org", "failed", "4.4.7", null))
            .Should().BeEquivalentTo(ReportVerdict.Bounced(false, 450, "4.4.7"), Verdict);
    }

    [Fact]
    public void The_status_class_decides_permanence_over_a_contradicting_diagnostic()
    {
        Read(DeliveryReportMessages.Dsn("rp@x.example", "ann@example.org", "failed", "5.0.0", "smtp; 421 try later"))
            .Should().BeEquivalentTo(ReportVerdict.Bounced(true, 550, "smtp; 421 try later"), Verdict);
    }

    [Theory]
    [InlineData("delayed")]
    [InlineData("Delayed")]
    [InlineData("relayed")]
    [InlineData("delivered")]
    [InlineData("expanded")]
    public void Other_actions_are_not_bounces(string action)
    {
        var verdict = Read(DeliveryReportMessages.Dsn("rp@x.example", "ann@example.org", action, "4.4.1", "smtp; 550 would-be-misread"));

        verdict.IsBounce.Should().BeFalse();
        verdict.Message.Should().Contain(action.ToLowerInvariant());
    }

    [Fact]
    public void Of_several_failed_blocks_the_one_naming_the_recipient_is_read()
    {
        var raw = DeliveryReportMessages.Dsn("rp@x.example", "other@example.org", "failed", "5.1.1", "smtp; 550 5.1.1 other")
            .Replace("Remote-MTA: dns; mail.example.org\r\n",
                "Remote-MTA: dns; mail.example.org\r\n\r\nFinal-Recipient: rfc822; ann@example.org\r\nAction: failed\r\nStatus: 5.2.1\r\nDiagnostic-Code: smtp; 551 5.2.1 disabled\r\n",
                StringComparison.Ordinal);

        Read(raw).Should().BeEquivalentTo(ReportVerdict.Bounced(true, 551, "smtp; 551 5.2.1 disabled"), Verdict);
    }

    [Fact]
    public void A_global_delivery_status_part_is_read_like_a_delivery_status_part()
    {
        var raw = DeliveryReportMessages.Dsn("rp@x.example", "ann@example.org", "failed", "5.1.1", "smtp; 550 5.1.1 utente sconosciuto")
            .Replace("Content-Type: message/delivery-status", "Content-Type: message/global-delivery-status", StringComparison.Ordinal);

        Read(raw).Should().BeEquivalentTo(ReportVerdict.Bounced(true, 550, "smtp; 550 5.1.1 utente sconosciuto"), Verdict);
    }

    [Fact]
    public void Text_inside_the_returned_original_message_is_never_read()
    {
        var raw = DeliveryReportMessages.PlainText("rp@x.example", "Your message was forwarded.")
            .Replace("Subject: failure notice\r\n", "Subject: failure notice\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=m\r\n", StringComparison.Ordinal)
            .Replace("Your message was forwarded.\r\n",
                "--m\r\nContent-Type: text/plain\r\n\r\nYour message was forwarded.\r\n--m\r\nContent-Type: message/rfc822\r\n\r\nSubject: hi\r\n\r\nDiagnostic-Code: smtp; 550 5.1.1 quoted by the tenant\r\n--m--\r\n",
                StringComparison.Ordinal);

        Read(raw).IsBounce.Should().BeFalse();
    }

    [Theory]
    [InlineData("Diagnostic-Code: smtp; 450 4.2.0 greylisted")]
    [InlineData("Error 500 apples")]
    [InlineData("550 without an enhanced status code")]
    [InlineData("Status: 5.1.1")]
    public void Plain_text_without_a_5xx_reply_is_not_a_bounce(string body) =>
        Read(DeliveryReportMessages.PlainText("rp@x.example", body)).IsBounce.Should().BeFalse();

    [Fact]
    public void A_report_keeps_what_it_said_as_evidence_failed_or_not()
    {
        var failed = Read(DeliveryReportMessages.Dsn("rp@x.example", "ann@example.org", "failed", "5.1.1", "smtp; 550 5.1.1 user unknown"));
        var delayed = Read(DeliveryReportMessages.Dsn("rp@x.example", "ann@example.org", "delayed", "4.4.1", "smtp; 421 4.4.1 timed out"));

        (failed.Action, failed.Status, failed.Diagnostic, failed.ReportingMta, failed.IsReport)
            .Should().Be(("failed", "5.1.1", "smtp; 550 5.1.1 user unknown", "mx.example.net", true));
        (delayed.IsBounce, delayed.Action, delayed.Status, delayed.IsReport).Should().Be((false, "delayed", "4.4.1", true));
    }

    [Fact]
    public void A_plain_text_bounce_takes_its_status_from_the_reply_line()
    {
        var verdict = Read(DeliveryReportMessages.PlainText("rp@x.example", "Sorry.\n\n550 5.1.1 <ann@example.org>: no such user\n"));

        (verdict.IsBounce, verdict.Action, verdict.Status).Should().Be((true, "failed", "5.1.1"));
    }
}
