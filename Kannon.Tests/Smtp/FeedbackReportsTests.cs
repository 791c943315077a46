using System.Text;
using Kannon.Smtp;
using Kannon.Tests.Suppression;
using MimeKit;

namespace Kannon.Tests.Smtp;

public sealed class FeedbackReportsTests
{
    private static readonly byte[] Original = Encoding.UTF8.GetBytes(
        "From: News <news@sender.example>\r\nTo: ann@example.org\r\nSubject: Our news\r\nMessage-ID: <YW5uQGV4YW1wbGUub3Jn/msg_1@sender.example>\r\n\r\nHello\r\n");

    private static FeedbackReport? Read(string raw) => FeedbackReports.Read(MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(raw))));

    [Fact]
    public void An_arf_report_gives_its_type_reporter_return_path_and_message_id()
    {
        var report = Read(ArfReports.Abuse("fbl@bounces.example", Original, "bump_abc.mac+msg_1@sender.example"));

        report.Should().NotBeNull();
        report!.FeedbackType.Should().Be("abuse");
        report.ReportingMta.Should().Be("fbl.example.net");
        report.ReturnPaths.Should().Equal("bump_abc.mac+msg_1@sender.example");
        report.MessageId.Should().Be("<YW5uQGV4YW1wbGUub3Jn/msg_1@sender.example>");
    }

    [Fact]
    public void Without_a_return_path_the_report_names_none()
    {
        Read(ArfReports.Abuse("fbl@bounces.example", Original, returnPath: null))!.ReturnPaths.Should().BeEmpty();
    }

    [Fact]
    public void A_delivery_status_report_or_plain_mail_is_no_feedback_report()
    {
        Read(DeliveryReportMessages.Dsn("rp@x.example", "ann@example.org", "failed", "5.1.1", null)).Should().BeNull();
        Read("From: a@b.example\r\nTo: fbl@bounces.example\r\nSubject: hi\r\n\r\nplease stop\r\n").Should().BeNull();
    }
}
