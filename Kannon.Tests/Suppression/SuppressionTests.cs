using System.Net;
using Kannon.Envelopes;
using Kannon.Hosting;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Smtp;
using Kannon.Suppression;
using Kannon.Tests.EndToEnd;
using Kannon.Tests.Infrastructure;
using Kannon.Tests.Smtp;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Kannon.Tests.Suppression;

/// <summary>
/// Issue 11 end to end on real PostgreSQL, NATS and SMTP: what suppresses an address (a 550 at RCPT, a failed DSN,
/// an ARF complaint), what does not (a delayed DSN, a forged return path), and that a suppressed address is never
/// sent to again, by its own Domain only.
/// </summary>
public sealed class SuppressionTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private const string SmtpDomain = "bounces.kannon.test";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static readonly Roles Everything = new(Api: true, Smtp: true, Validator: true, Dispatcher: true, Sender: true, Stats: true);

    private static readonly Dictionary<string, string?> InboundSettings = new() { ["smtp:domain"] = SmtpDomain };

    [Fact]
    public async Task A_550_at_rcpt_suppresses_the_address_and_the_next_batch_rejects_it_without_a_second_attempt()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres);
        var address = $"bounce-gone@{SendPathHarness.RecipientDomain}";

        var first = await SendAsync(harness, address);
        var suppressed = await SuppressionOfAsync(harness, address);

        suppressed.Reason.Should().Be(SuppressionReason.HardBounce);
        suppressed.StatusCode.Should().Be("5.1.1");
        suppressed.Diagnostic.Should().Contain("550").And.Contain("user unknown");
        suppressed.MessageId.Should().Be(first.MessageId);
        suppressed.Source.Should().Be(SuppressionRules.RcptSource);

        var second = await SendAsync(harness, address);

        second.AcceptedCount.Should().Be(0);
        second.RejectedRecipients.Should().ContainSingle().Which.Reason.Should().Be(SuppressionList.RejectionReason);
        (await harness.PoolCountAsync(second.MessageId)).Should().Be(0, "nothing of the second batch waits to be sent");
        harness.Receiver.RcptAttempts(address).Should().Be(1, "the receiving server never sees a second attempt");
    }

    [Fact]
    public async Task A_failed_dsn_to_a_delivered_messages_return_path_suppresses_and_a_delayed_one_does_not()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres, InboundSettings, roles: Everything);
        var hard = $"ann@{SendPathHarness.RecipientDomain}";
        var soft = $"bob@{SendPathHarness.RecipientDomain}";
        await BounceStreamReader.KeepEventsAsync(harness.Nats.Url);
        var batch = await SendAsync(harness, hard, soft);
        var delivered = await DeliveredAsync(harness, hard, soft);
        var smtp = await SmtpEndpointAsync(harness);

        // The delayed report first: once the later failure is recorded, the Dispatcher has read the delay too.
        (await ReportSession.SendAsync(smtp, delivered[soft].From,
            DeliveryReportMessages.Dsn(delivered[soft].From, soft, "delayed", "4.4.1", "smtp; 421 4.4.1 connection timed out"))).Should().StartWith("250");
        (await ReportSession.SendAsync(smtp, delivered[hard].From,
            DeliveryReportMessages.Dsn(delivered[hard].From, hard, "failed", "5.1.1", "smtp; 550 5.1.1 user unknown"))).Should().StartWith("250");

        var suppressed = await SuppressionOfAsync(harness, hard);
        suppressed.Reason.Should().Be(SuppressionReason.HardBounce);
        suppressed.StatusCode.Should().Be("5.1.1");
        suppressed.Diagnostic.Should().Be("smtp; 550 5.1.1 user unknown");
        suppressed.MessageId.Should().Be(batch.MessageId);
        suppressed.Source.Should().Be("mx.example.net");
        (await FindAsync(harness, soft)).Should().BeNull("a delayed report never suppresses");

        var events = await BounceStreamReader.ReadAsync(harness.Nats.Url);
        events.Select(e => (e.Event.Email, e.Event.Action, e.Event.Status)).Should().BeEquivalentTo([(soft, "delayed", "4.4.1"), (hard, "failed", "5.1.1")],
            "one Bounce event per parsed report, soft ones included");
        events.Should().OnlyContain(e => e.MsgId != null && e.MsgId.StartsWith("report:"));

        // The Stats worker keeps the report beside the bounced stat, and counts it once.
        await Eventually.HoldsAsync(async () => await ScalarAsync<long>(harness,
            "SELECT count(*) FROM stats WHERE type = 'bounced' AND message_id = $1 AND email = $2 AND data->'report'->>'status' = '5.1.1'",
            batch.MessageId, hard) == 1, Patience, "the report's evidence stands beside the bounced stat");
        (await ScalarAsync<long>(harness, "SELECT coalesce(sum(count), 0)::bigint FROM aggregated_stats WHERE domain = $1 AND type = 'bounced'", harness.Domain, ""))
            .Should().Be(1, "the report adds no count of its own");
    }

    [Fact]
    public async Task An_arf_complaint_suppresses_the_address_as_a_complaint_and_one_naming_only_our_message_id_does_not()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres, InboundSettings, roles: Everything);
        var complainer = $"carol@{SendPathHarness.RecipientDomain}";
        var other = $"dan@{SendPathHarness.RecipientDomain}";
        await BounceStreamReader.KeepEventsAsync(harness.Nats.Url);
        var batch = await SendAsync(harness, complainer, other);
        var delivered = await DeliveredAsync(harness, complainer, other);
        var smtp = await SmtpEndpointAsync(harness);
        var feedback = $"fbl@{SmtpDomain}";

        // Without the Return-Path, the Message-ID alone (guessable by any co-recipient) records nothing.
        (await ReportSession.SendAsync(smtp, feedback, ArfReports.Abuse(feedback, delivered[other].Raw, returnPath: null))).Should().StartWith("250");
        (await ReportSession.SendAsync(smtp, feedback, ArfReports.Abuse(feedback, delivered[complainer].Raw, delivered[complainer].From))).Should().StartWith("250");

        var suppressed = await SuppressionOfAsync(harness, complainer);
        suppressed.Reason.Should().Be(SuppressionReason.Complaint);
        suppressed.Diagnostic.Should().Be("abuse");
        suppressed.MessageId.Should().Be(batch.MessageId);
        suppressed.Source.Should().Be("fbl.example.net");
        (await FindAsync(harness, other)).Should().BeNull();
        (await BounceStreamReader.ReadAsync(harness.Nats.Url)).Should().ContainSingle()
            .Which.Event.Kind.Should().Be(Kannon.Protos.Bounce.Types.BounceKind.Arf);
    }

    [Fact]
    public async Task Mail_to_the_list_unsubscribe_mailto_unsubscribes_and_to_a_forged_return_path_does_not()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres, InboundSettings, roles: Everything);
        var reader = $"reader@{SendPathHarness.RecipientDomain}";
        var victim = $"victim2@{SendPathHarness.RecipientDomain}";
        var batch = await SendAsync(harness, reader, victim);
        var delivered = await DeliveredAsync(harness, reader, victim);
        var smtp = await SmtpEndpointAsync(harness);
        EnvelopeIds.TryParseReturnPath(delivered[reader].From, out _, out _, out var mac).Should().BeTrue();
        var forgedForVictim = EnvelopeIds.ReturnPath(victim, batch.MessageId, mac);

        static string Request(string to, string from) =>
            $"From: {from}\r\nTo: {to}\r\nSubject: unsubscribe\r\nMessage-ID: <{Guid.NewGuid():N}@mua.example>\r\n\r\nPlease stop.\r\n";

        var forgedReply = await ReportSession.SendAsync(smtp, forgedForVictim, Request(forgedForVictim, victim));
        var realReply = await ReportSession.SendAsync(smtp, delivered[reader].From, Request(delivered[reader].From, reader));

        realReply.Should().StartWith("250");
        forgedReply.Should().Be(realReply, "a forged return path is answered exactly like a real one");
        var suppressed = await SuppressionOfAsync(harness, reader);
        suppressed.Reason.Should().Be(SuppressionReason.Unsubscribe);
        suppressed.MessageId.Should().Be(batch.MessageId);
        (await FindAsync(harness, victim)).Should().BeNull("mail to a forged return path unsubscribes nobody");
        var stats = await Eventually.ReturnsAsync(() => harness.StatsOfAsync(batch.MessageId), s => s.Any(x => x.Type == "unsubscribed"), Patience,
            "the unsubscribe is counted");
        stats.Where(x => x.Type == "unsubscribed").Should().ContainSingle().Which.Email.Should().Be(reader);
    }

    [Fact]
    public async Task A_dsn_to_a_return_path_with_an_altered_mac_or_built_for_another_recipient_gets_the_same_reply_and_records_nothing()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres, InboundSettings, roles: Everything);
        var real = $"erin@{SendPathHarness.RecipientDomain}";
        var victim = $"victim@{SendPathHarness.RecipientDomain}";
        var marker = $"marker@{SendPathHarness.RecipientDomain}";
        await BounceStreamReader.KeepEventsAsync(harness.Nats.Url);
        var batch = await SendAsync(harness, real, victim, marker);
        var delivered = await DeliveredAsync(harness, real, victim, marker);
        var smtp = await SmtpEndpointAsync(harness);
        EnvelopeIds.TryParseReturnPath(delivered[real].From, out _, out _, out var mac).Should().BeTrue();
        var forgedForVictim = EnvelopeIds.ReturnPath(victim, batch.MessageId, mac);
        var victimMac = delivered[victim].From;
        var dot = victimMac.LastIndexOf('.', victimMac.IndexOf('+', StringComparison.Ordinal));
        var altered = victimMac[..(dot + 1)] + (victimMac[dot + 1] == 'A' ? 'B' : 'A') + victimMac[(dot + 2)..];

        var realReply = await ReportSession.SendAsync(smtp, delivered[real].From,
            DeliveryReportMessages.Dsn(delivered[real].From, real, "delayed", "4.4.1", "smtp; 421 4.4.1 later"));
        var forgedReply = await ReportSession.SendAsync(smtp, forgedForVictim,
            DeliveryReportMessages.Dsn(forgedForVictim, victim, "failed", "5.1.1", "smtp; 550 5.1.1 user unknown"));
        var alteredReply = await ReportSession.SendAsync(smtp, altered,
            DeliveryReportMessages.Dsn(altered, victim, "failed", "5.1.1", "smtp; 550 5.1.1 user unknown"));

        realReply.Should().StartWith("250");
        forgedReply.Should().Be(realReply, "a forged return path is answered exactly like a real one");
        alteredReply.Should().Be(realReply);

        // A real failure after them: when it is recorded, the forged ones would have been too.
        (await ReportSession.SendAsync(smtp, delivered[marker].From,
            DeliveryReportMessages.Dsn(delivered[marker].From, marker, "failed", "5.1.1", "smtp; 550 5.1.1 user unknown"))).Should().StartWith("250");
        await SuppressionOfAsync(harness, marker);
        (await FindAsync(harness, victim)).Should().BeNull("a forged report suppresses nobody");
        (await BounceStreamReader.ReadAsync(harness.Nats.Url)).Select(e => e.Event.Email).Should().BeEquivalentTo([real, marker]);
        (await StatsStreamReader.ReadAsync(harness.Nats.Url, s => s.Email == victim && s.Data.Bounced != null)).Should().BeEmpty();
    }

    [Fact]
    public async Task Suppressing_an_address_ends_its_pending_deliveries_and_a_scheduled_batch_to_it_never_sends()
    {
        // No Dispatcher yet: the Deliveries are validated and scheduled, then the address is suppressed.
        await using var harness = await SendPathHarness.StartAsync(postgres, roles: new Roles(Api: true, Validator: true, Stats: true));
        var suppressedAddress = $"frank@{SendPathHarness.RecipientDomain}";
        var kept = $"grace@{SendPathHarness.RecipientDomain}";
        var batch = await SendAsync(harness, suppressedAddress, kept);
        await Eventually.HoldsAsync(async () => await ScalarAsync<long>(harness,
            "SELECT count(*) FROM sending_pool_emails WHERE message_id = $1 AND status = 'scheduled'", batch.MessageId, "") == 2, Patience, "both Deliveries are scheduled");
        await SuppressAsync(harness, harness.Domain, suppressedAddress);

        await harness.AddHostAsync(new Roles(Dispatcher: true, Sender: true));

        await DeliveredAsync(harness, kept);
        var stats = await Eventually.ReturnsAsync(() => harness.StatsOfAsync(batch.MessageId),
            s => s.Any(x => x.Type == "rejected" && x.Email == suppressedAddress), Patience);
        stats.Where(s => s.Email == suppressedAddress && s.Type is "rejected" or "delivered" or "bounced" or "failed").Should().ContainSingle("one terminal outcome")
            .Which.Data.Rejected.Reason.Should().Be(SuppressionList.RejectionReason);
        await Eventually.HoldsAsync(async () => await harness.PoolCountAsync(batch.MessageId) == 0, Patience, "the suppressed Delivery left the Pool");
        harness.Receiver.RcptAttempts(suppressedAddress).Should().Be(0);
    }

    [Fact]
    public async Task An_address_suppressed_after_intake_is_rejected_by_the_validator()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres, roles: new Roles(Api: true, Stats: true));
        var address = $"heidi@{SendPathHarness.RecipientDomain}";
        var batch = await SendAsync(harness, address);
        await SuppressAsync(harness, harness.Domain, address);

        await harness.AddHostAsync(new Roles(Validator: true, Dispatcher: true, Sender: true));

        var stats = await Eventually.ReturnsAsync(() => harness.StatsOfAsync(batch.MessageId), s => s.Any(x => x.Type == "rejected"), Patience);
        stats.Should().ContainSingle().Which.Data.Rejected.Reason.Should().Be(SuppressionList.RejectionReason);
        await Eventually.HoldsAsync(async () => await harness.PoolCountAsync(batch.MessageId) == 0, Patience, "the rejected Delivery left the Pool");
        harness.Receiver.RcptAttempts(address).Should().Be(0);
    }

    [Fact]
    public async Task Another_domain_still_sends_to_an_address_one_domain_suppressed()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres);
        var address = $"ivan@{SendPathHarness.RecipientDomain}";
        var otherDomain = AdminClients.NewDomainName("other");
        await harness.Host.Admin().CreateDomainAsync(new Kannon.Protos.Admin.ApiV1.CreateDomainRequest { Domain = otherDomain });
        await SuppressAsync(harness, otherDomain, address);

        var response = await SendAsync(harness, address);

        response.AcceptedCount.Should().Be(1, "the other Domain's list does not apply");
        await DeliveredAsync(harness, address);
        (await FindAsync(harness, address)).Should().BeNull();
    }

    [Fact]
    public async Task The_domain_part_of_a_suppressed_address_is_compared_without_case()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres);
        await SuppressAsync(harness, harness.Domain, $"Judy@{SendPathHarness.RecipientDomain.ToUpperInvariant()}");

        var sameAddress = await SendAsync(harness, $"Judy@{SendPathHarness.RecipientDomain}");
        var otherSpelling = await SendAsync(harness, $"JUDY@{SendPathHarness.RecipientDomain}");

        sameAddress.RejectedRecipients.Should().ContainSingle().Which.Reason.Should().Be(SuppressionList.RejectionReason);
        otherSpelling.AcceptedCount.Should().Be(1, "local parts may be case-sensitive: another spelling is another address");
    }

    private static async Task<SendRes> SendAsync(SendPathHarness harness, params string[] recipients)
    {
        var request = new SendHTMLReq { Sender = harness.Sender(), Subject = "Hello", Html = "<p>Hello {{ email }}</p>" };
        request.Recipients.AddRange(recipients.Select(r => new Recipient { Email = r }));
        return await harness.Mailer.SendHTMLAsync(request);
    }

    private static async Task<Dictionary<string, ReceivedMessage>> DeliveredAsync(SendPathHarness harness, params string[] recipients)
    {
        var messages = await Eventually.ReturnsAsync(() => Task.FromResult(harness.Receiver.Messages),
            m => recipients.All(r => m.Any(x => x.To.Contains(r))), Patience, "the messages reach the MX");
        return recipients.ToDictionary(r => r, r => messages.First(m => m.To.Contains(r)));
    }

    private static Task<IPEndPoint> SmtpEndpointAsync(SendPathHarness harness) =>
        harness.Host.Services.GetRequiredService<SmtpListener>().Started.WaitAsync(TimeSpan.FromSeconds(10));

    private static SuppressionList List(SendPathHarness harness) => new(harness.Host.Services.GetRequiredService<NpgsqlDataSource>());

    private static Task<SuppressedAddress?> FindAsync(SendPathHarness harness, string email) => List(harness).FindAsync(harness.Domain, email, CancellationToken.None);

    private static async Task<SuppressedAddress> SuppressionOfAsync(SendPathHarness harness, string email) =>
        (await Eventually.ReturnsAsync(() => FindAsync(harness, email), s => s is not null, Patience, $"{email} is suppressed"))!;

    private static Task SuppressAsync(SendPathHarness harness, string domain, string email) =>
        List(harness).AddAsync([new SuppressionEvidence(domain, email, SuppressionReason.Manual, "", "", "", "api", DateTimeOffset.UtcNow, "test")], CancellationToken.None);

    private static async Task<T> ScalarAsync<T>(SendPathHarness harness, string sql, string first, string second)
    {
        await using var command = harness.Host.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = first });
        if (sql.Contains("$2", StringComparison.Ordinal))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = second });
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }
}
