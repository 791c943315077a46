using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Kannon.Messaging;
using Kannon.Sender;
using Kannon.Stats;
using Kannon.Tests.Infrastructure;
using NATS.Client.JetStream;

namespace Kannon.Tests.Sender;

/// <summary>The Sender role end to end: real nats-server, real SMTP server, real DNS over UDP.</summary>
public sealed class SenderTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    [Fact]
    public async Task Sender_delivers_the_exact_signed_bytes_and_reports_delivered()
    {
        await using var harness = await SenderHarness.StartAsync(nats);
        var email = harness.Envelope("alice@example.net");

        var sequence = await harness.PublishAsync(email);

        var outcome = await harness.OutcomeAsync();
        outcome.Type.Should().Be(StatTypes.Delivered);
        outcome.Subject.Should().Be("kannon.stats.delivered");
        outcome.Event.Email.Should().Be("alice@example.net");
        outcome.Event.MessageId.Should().Be(harness.BatchId);
        outcome.Event.Domain.Should().Be("sender.example");
        outcome.MsgId.Should().Be($"delivered:{harness.BatchId}:alice@example.net:sending:{sequence}");

        var received = harness.Receiver.Messages.Should().ContainSingle().Subject;
        received.From.Should().Be(email.ReturnPath);
        received.To.Should().Equal("alice@example.net");
        received.Raw.Should().Equal(email.Body.ToByteArray(), "the DKIM signature covers these bytes");
    }

    [Fact]
    public async Task Sender_sends_the_exact_signed_bytes_with_bdat_when_the_mx_offers_chunking()
    {
        await using var sink = new SmtpSink { KeepMessages = true };
        await using var harness = await SenderHarness.StartAsync(nats, new Dictionary<string, string?> { ["sender:port"] = Port(sink) });
        var signed = harness.Envelope("olga@example.net");
        var unterminated = harness.Envelope("pete@example.net", "From: <news@sender.example>\r\nTo: <pete@example.net>\r\nSubject: x\r\n\r\nno final line end"u8.ToArray());

        await harness.PublishAsync(signed);
        await harness.PublishAsync(unterminated);

        (await harness.OutcomesAsync(2)).Should().OnlyContain(o => o.Type == StatTypes.Delivered);
        sink.Kept.Should().HaveCount(2).And.OnlyContain(m => m.Command == "BDAT");
        var kept = sink.Kept.Select(m => Convert.ToHexString(m.Raw)).ToList();
        kept.Should().Contain(Convert.ToHexString(signed.Body.Span), "the DKIM signature covers these bytes");
        kept.Should().Contain(Convert.ToHexString([.. unterminated.Body.ToByteArray(), .. "\r\n"u8.ToArray()]),
            "SMTP needs the last line ended; BDAT announced exactly the bytes that followed");
    }

    [Fact]
    public async Task Sender_reports_a_permanent_bounce_when_the_mx_answers_550()
    {
        await using var harness = await SenderHarness.StartAsync(nats);

        await harness.PublishAsync(harness.Envelope("bounce-me@example.net"));

        var outcome = await harness.OutcomeAsync();
        outcome.Subject.Should().Be("kannon.stats.bounced");
        outcome.Event.Data.Bounced.Permanent.Should().BeTrue();
        outcome.Event.Data.Bounced.Code.Should().Be(550);
        outcome.Event.Data.Bounced.Msg.Should().Contain("5.1.1").And.Contain("user unknown");
        harness.Receiver.RcptAttempts("bounce-me@example.net").Should().Be(1);
        harness.Receiver.Messages.Should().BeEmpty();
    }

    [Fact]
    public async Task Sender_reports_an_error_with_the_code_when_the_mx_answers_451()
    {
        await using var harness = await SenderHarness.StartAsync(nats);

        await harness.PublishAsync(harness.Envelope("transient-5@example.net"));

        var outcome = await harness.OutcomeAsync();
        outcome.Subject.Should().Be("kannon.stats.error");
        outcome.Event.Data.Error.Code.Should().Be(451);
        outcome.Event.Data.Error.Msg.Should().Contain("4.7.1");
        harness.Receiver.RcptAttempts("transient-5@example.net").Should().Be(1, "the Dispatcher retries, not the Sender");
    }

    [Fact]
    public async Task Sender_reports_a_transient_failure_as_an_error_even_when_the_envelope_may_not_be_retried()
    {
        await using var harness = await SenderHarness.StartAsync(nats);

        await harness.PublishAsync(harness.Envelope("transient-5@example.net", shouldRetry: false));

        var outcome = await harness.OutcomeAsync();
        outcome.Subject.Should().Be("kannon.stats.error", "the Dispatcher owns the retry budget and ends the Delivery as failed");
        outcome.Event.Data.Error.Code.Should().Be(451);
    }

    [Fact]
    public async Task Sender_reports_a_bounce_when_the_server_refuses_the_message_after_data()
    {
        await using var harness = await SenderHarness.StartAsync(nats);

        await harness.PublishAsync(harness.Envelope("reject@example.net"));

        var outcome = await harness.OutcomeAsync();
        outcome.Event.Data.Bounced.Code.Should().Be(554);
        outcome.Event.Data.Bounced.Permanent.Should().BeTrue();
    }

    [Fact]
    public async Task Sender_bounces_mail_for_a_domain_with_a_null_mx_without_connecting()
    {
        await using var harness = await SenderHarness.StartAsync(nats);
        harness.Dns.NullMx("nomail.example");

        await harness.PublishAsync(harness.Envelope("anyone@nomail.example"));

        var outcome = await harness.OutcomeAsync();
        outcome.Event.Data.Bounced.Permanent.Should().BeTrue();
        outcome.Event.Data.Bounced.Code.Should().Be(556);
        outcome.Event.Data.Bounced.Msg.Should().Contain("does not accept mail");
        harness.Receiver.Connections.Should().Be(0);
    }

    [Fact]
    public async Task Sender_bounces_mail_for_a_domain_that_does_not_exist()
    {
        await using var harness = await SenderHarness.StartAsync(nats);

        await harness.PublishAsync(harness.Envelope("anyone@no-such-domain.example"));

        var outcome = await harness.OutcomeAsync();
        outcome.Event.Data.Bounced.Permanent.Should().BeTrue();
        outcome.Event.Data.Bounced.Code.Should().Be(550);
        outcome.Event.Data.Bounced.Msg.Should().Contain("does not exist");
    }

    [Fact]
    public async Task Sender_delivers_to_the_domains_own_address_when_it_has_no_mx()
    {
        await using var harness = await SenderHarness.StartAsync(nats);
        harness.Dns.A("a-only.example", "127.0.0.1");

        await harness.PublishAsync(harness.Envelope("bob@a-only.example"));

        (await harness.OutcomeAsync()).Type.Should().Be(StatTypes.Delivered);
        harness.Receiver.Messages.Should().ContainSingle().Which.To.Should().Equal("bob@a-only.example");
    }

    [Fact]
    public async Task Sender_tries_the_next_mx_when_the_preferred_one_is_unreachable()
    {
        await using var harness = await SenderHarness.StartAsync(nats);
        // 127.0.0.2 is loopback too, but nothing listens there: connection refused.
        harness.Dns.Mx("two-mx.example", 5, "down.two-mx.example").A("down.two-mx.example", "127.0.0.2")
            .Mx("two-mx.example", 20, "up.two-mx.example").A("up.two-mx.example", "127.0.0.1");

        await harness.PublishAsync(harness.Envelope("carol@two-mx.example"));

        (await harness.OutcomeAsync()).Type.Should().Be(StatTypes.Delivered);
        harness.Receiver.Messages.Should().ContainSingle();
    }

    [Fact]
    public async Task Sender_reports_error_111_when_no_mx_answers()
    {
        await using var harness = await SenderHarness.StartAsync(nats);
        harness.Dns.Mx("down.example", 10, "mx.down.example").A("mx.down.example", "127.0.0.2");

        await harness.PublishAsync(harness.Envelope("dave@down.example"));

        var outcome = await harness.OutcomeAsync();
        outcome.Subject.Should().Be("kannon.stats.error");
        outcome.Event.Data.Error.Code.Should().Be(111);
        outcome.Event.Data.Error.Msg.Should().Contain("mx.down.example");
    }

    [Fact]
    public async Task Sender_reports_a_dns_failure_as_an_error_to_retry()
    {
        await using var harness = await SenderHarness.StartAsync(nats);
        harness.Dns.Broken("servfail.example");

        await harness.PublishAsync(harness.Envelope("erin@servfail.example"));

        var outcome = await harness.OutcomeAsync();
        outcome.Subject.Should().Be("kannon.stats.error");
        outcome.Event.Data.Error.Code.Should().Be(451);
    }

    [Fact]
    public async Task Sender_reuses_connections_for_many_messages_to_one_mx()
    {
        await using var harness = await SenderHarness.StartAsync(nats, new Dictionary<string, string?>
        {
            ["sender:max_jobs"] = "20",
            ["sender:max_connections_per_host"] = "4",
        });
        const int count = 60;

        for (var i = 0; i < count; i++)
        {
            await harness.PublishAsync(harness.Envelope($"user{i}@example.net"));
        }

        var outcomes = await harness.OutcomesAsync(count);
        outcomes.Should().OnlyContain(o => o.Type == StatTypes.Delivered);
        harness.Receiver.Messages.Should().HaveCount(count);
        harness.Receiver.Connections.Should().BeInRange(1, 4, "connections are pooled per MX and capped per host");
    }

    [Fact]
    public async Task Sender_closes_a_connection_after_messages_per_connection_transactions()
    {
        await using var harness = await SenderHarness.StartAsync(nats, new Dictionary<string, string?>
        {
            ["sender:max_jobs"] = "1",
            ["sender:messages_per_connection"] = "3",
        });

        for (var i = 0; i < 7; i++)
        {
            await harness.PublishAsync(harness.Envelope($"user{i}@example.net"));
        }

        await harness.OutcomesAsync(7);
        harness.Receiver.Connections.Should().Be(3);
    }

    [Fact]
    public async Task Sender_delivers_over_starttls_with_a_certificate_it_cannot_verify()
    {
        using var certificate = SelfSigned("mx.example.net");
        await using var receiver = await RecordingSmtpServer.StartAsync(certificate: certificate);
        await using var harness = await SenderHarness.StartAsync(nats, receiver: receiver);

        await harness.PublishAsync(harness.Envelope("frank@example.net"));

        (await harness.OutcomeAsync()).Type.Should().Be(StatTypes.Delivered);
        receiver.Messages.Should().ContainSingle().Which.Secure.Should().BeTrue();
    }

    [Fact]
    public async Task Sender_with_require_tls_does_not_deliver_in_plain_text()
    {
        await using var harness = await SenderHarness.StartAsync(nats, new Dictionary<string, string?> { ["sender:require_tls"] = "true" });

        await harness.PublishAsync(harness.Envelope("grace@example.net"));

        var outcome = await harness.OutcomeAsync();
        outcome.Event.Data.Error.Code.Should().Be(111);
        outcome.Event.Data.Error.Msg.Should().Contain("STARTTLS");
        harness.Receiver.Messages.Should().BeEmpty();
    }

    [Fact]
    public async Task Sender_sends_everything_to_the_relay_when_one_is_configured()
    {
        await using var receiver = await RecordingSmtpServer.StartAsync();
        await using var harness = await SenderHarness.StartAsync(nats, new Dictionary<string, string?>
        {
            ["sender:relay:host"] = "127.0.0.1",
            ["sender:relay:port"] = receiver.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["sender:relay:tls"] = "none",
            ["sender:port"] = "1",
        }, receiver: receiver);

        await harness.PublishAsync(harness.Envelope("henry@no-dns-needed.example"));

        (await harness.OutcomeAsync()).Type.Should().Be(StatTypes.Delivered);
        receiver.Messages.Should().ContainSingle().Which.To.Should().Equal("henry@no-dns-needed.example");
        harness.Dns.Queries.Should().Be(0);
    }

    [Fact]
    public async Task Undecodable_payloads_are_terminated_and_the_sender_keeps_going()
    {
        await using var harness = await SenderHarness.StartAsync(nats);

        await harness.PublishRawAsync([0xFF, 0xFF, 0xFF, 0x0F, 0x42]);
        var badId = harness.Envelope("ivan@example.net");
        badId.EmailId = "not an envelope id";
        await harness.PublishAsync(badId);
        await harness.PublishAsync(harness.Envelope("judy@example.net"));

        (await harness.OutcomeAsync()).Event.Email.Should().Be("judy@example.net");
        await Eventually.ReturnsAsync(async () =>
        {
            var consumer = await harness.JetStream.GetConsumerAsync(Topology.SendingStream, Topology.SenderConsumer);
            return consumer.Info;
        }, info => info is { NumAckPending: 0, NumPending: 0, NumRedelivered: 0 }, TimeSpan.FromSeconds(10), "every message is settled, none redelivered");
        harness.Receiver.Messages.Should().ContainSingle();
    }

    [Fact]
    public async Task The_demo_sender_never_connects_and_bounces_addresses_containing_error()
    {
        await using var harness = await SenderHarness.StartAsync(nats, new Dictionary<string, string?> { ["sender:demo_sender"] = "true" });

        await harness.PublishAsync(harness.Envelope("someone-error@example.net"));
        await harness.PublishAsync(harness.Envelope("fine@example.net"));

        var outcomes = await harness.OutcomesAsync(2);
        var bounced = outcomes.Single(o => o.Event.Email == "someone-error@example.net").Event.Data.Bounced;
        bounced.Code.Should().Be(512);
        bounced.Permanent.Should().BeTrue();
        bounced.Msg.Should().Be("error sending email");
        outcomes.Single(o => o.Event.Email == "fine@example.net").Type.Should().Be(StatTypes.Delivered);
        harness.Receiver.Connections.Should().Be(0);
        harness.Dns.Queries.Should().Be(0);
    }

    private static string Port(SmtpSink sink) => sink.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static X509Certificate2 SelfSigned(string host)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }
}
