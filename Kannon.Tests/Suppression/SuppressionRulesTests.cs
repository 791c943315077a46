using Google.Protobuf.WellKnownTypes;
using Kannon.Protos.Bounce.Types;
using Kannon.Stats;
using Kannon.Suppression;

namespace Kannon.Tests.Suppression;

public sealed class SuppressionRulesTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    private static Bounce Report(BounceKind kind, string action = "", string status = "") => new()
    {
        MessageId = "msg_1@sender.example", Email = "ann@example.org", Domain = "sender.example", Kind = kind,
        Action = action, Status = status, Diagnostic = "smtp; 550 5.1.1 user unknown", ReportingMta = "mx.example.net",
        ArrivedAt = Timestamp.FromDateTimeOffset(At),
    };

    [Fact]
    public void A_failed_dsn_with_a_permanent_status_is_a_hard_bounce_with_its_evidence()
    {
        var evidence = SuppressionRules.FromReport(Report(BounceKind.Dsn, "failed", "5.1.1"));

        evidence.Should().Be(new SuppressionEvidence("sender.example", "ann@example.org", SuppressionReason.HardBounce, "5.1.1",
            "smtp; 550 5.1.1 user unknown", "msg_1@sender.example", "mx.example.net", At));
    }

    [Theory]
    [InlineData("delayed", "4.4.1")]
    [InlineData("failed", "4.2.2")]
    [InlineData("failed", "")]
    [InlineData("delivered", "2.0.0")]
    public void A_soft_or_unclassified_dsn_never_suppresses(string action, string status) =>
        SuppressionRules.FromReport(Report(BounceKind.Dsn, action, status)).Should().BeNull();

    [Fact]
    public void A_complaint_and_an_unsubscribe_suppress_with_their_own_reasons()
    {
        SuppressionRules.FromReport(Report(BounceKind.Arf))!.Reason.Should().Be(SuppressionReason.Complaint);
        SuppressionRules.FromReport(Report(BounceKind.Unsubscribe))!.Reason.Should().Be(SuppressionReason.Unsubscribe);
    }

    [Theory]
    [InlineData(550u, "5.1.1 <ann@example.org>: user unknown", true)]
    [InlineData(550u, "5.1.10 recipient domain does not accept mail (null MX)", true)]
    [InlineData(551u, "5.2.1 mailbox disabled", true)]
    [InlineData(550u, "mailbox unavailable", true)]
    [InlineData(554u, "5.7.1 message rejected as spam", false)]
    [InlineData(553u, "5.1.7 invalid return path", false)]
    [InlineData(554u, "5.6.0 the message could not be read", false)]
    [InlineData(512u, "error sending email", false)]
    public void A_sender_bounce_suppresses_only_when_the_reply_is_about_the_address(uint code, string text, bool suppresses)
    {
        var stat = Outcomes.Bounced("msg_1@sender.example", "ann@example.org", "sender.example", At, permanent: true, code, text);

        (SuppressionRules.FromSenderBounce(stat) is not null).Should().Be(suppresses);
    }

    [Fact]
    public void A_sender_bounce_keeps_its_status_and_reply_as_evidence()
    {
        var stat = Outcomes.Bounced("msg_1@sender.example", "ann@example.org", "sender.example", At, permanent: true, 550, "5.1.1 user unknown");

        SuppressionRules.FromSenderBounce(stat).Should().Be(new SuppressionEvidence("sender.example", "ann@example.org", SuppressionReason.HardBounce,
            "5.1.1", "550 5.1.1 user unknown", "msg_1@sender.example", SuppressionRules.RcptSource, At));
    }

    [Theory]
    [InlineData("Ann@Example.ORG", "Ann@example.org")]
    [InlineData(" bob@EXAMPLE.org ", "bob@example.org")]
    [InlineData("\"a@b\"@Example.org", "\"a@b\"@example.org")]
    public void Addresses_are_compared_with_the_domain_part_lower_cased(string email, string normalized) =>
        SuppressionList.Normalize(email).Should().Be(normalized);
}
