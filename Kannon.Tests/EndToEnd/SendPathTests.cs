using System.Text;
using Google.Protobuf;
using Kannon.Envelopes;
using Kannon.Hosting;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Tests.Infrastructure;
using MimeKit;
using MimeKit.Cryptography;
using Npgsql;

namespace Kannon.Tests.EndToEnd;

/// <summary>The send path end to end on real PostgreSQL, NATS, DNS and SMTP servers, through the generated gRPC client.</summary>
public sealed class SendPathTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_batch_of_50_arrives_personalised_signed_tracked_and_with_its_attachment()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres);
        var attachment = Encoding.UTF8.GetBytes("name,score\nann,10\n");
        var request = new SendHTMLReq
        {
            Sender = harness.Sender("Kannon News"),
            Subject = "Hello {{ name }}",
            Html = "<html><body><p>Dear {{ name }}, your code is {{ code }}.</p><a href=\"https://example.org/offer?id=1\">Offer</a> <a href=\"mailto:help@example.org\">Help</a></body></html>",
            Attachments = { new Attachment { Filename = "scores.csv", Content = ByteString.CopyFrom(attachment) } },
        };
        for (var i = 0; i < 50; i++)
        {
            request.Recipients.Add(new Recipient { Email = $"user{i}@{SendPathHarness.RecipientDomain}", Fields = { ["name"] = $"Person {i}", ["code"] = $"C{i:000}" } });
        }

        var response = await harness.Mailer.SendHTMLAsync(request);

        response.AcceptedCount.Should().Be(50);
        await Eventually.HoldsAsync(() => Task.FromResult(harness.Receiver.Received >= 50), Patience, "all 50 messages reach the MX");
        var messages = harness.Receiver.Messages;
        messages.Should().HaveCount(50);
        var verifier = new DkimVerifier(new DnsKeyLocator(harness.Domain, harness.DkimPublicKey));
        foreach (var received in messages)
        {
            var recipient = received.To.Should().ContainSingle().Subject;
            var i = int.Parse(recipient["user".Length..recipient.IndexOf('@')], System.Globalization.CultureInfo.InvariantCulture);
            var message = MimeMessage.Load(new MemoryStream(received.Raw));

            message.Subject.Should().Be($"Hello Person {i}");
            message.From.Mailboxes.Single().Address.Should().Be($"news@{harness.Domain}");
            message.From.Mailboxes.Single().Name.Should().Be("Kannon News");
            message.To.Mailboxes.Single().Address.Should().Be(recipient);
            message.MessageId.Should().Be(EnvelopeIds.EmailId(recipient, response.MessageId).Trim('<', '>'));
            received.From.Should().StartWith("bump_").And.Contain("+" + response.MessageId);
            message.HtmlBody.Should().Contain($"Dear Person {i}, your code is C{i:000}.");
            message.HtmlBody.Should().NotContain("https://example.org/offer").And.Contain("https://track.test/c/");
            message.HtmlBody.Should().Contain("mailto:help@example.org", "mailto links are never rewritten");
            message.HtmlBody.Should().Contain("https://track.test/o/");
            message.TextBody.Should().Contain($"Dear Person {i}").And.NotContain("<p>");
            var file = message.Attachments.OfType<MimePart>().Should().ContainSingle().Subject;
            file.FileName.Should().Be("scores.csv");
            using (var content = new MemoryStream())
            {
                file.Content!.DecodeTo(content);
                content.ToArray().Should().Equal(attachment);
            }

            var signature = message.Headers.IndexOf(HeaderId.DkimSignature);
            signature.Should().BeGreaterThanOrEqualTo(0);
            verifier.Verify(message, message.Headers[signature]).Should().BeTrue($"the DKIM signature of {recipient} verifies against the domain's published key");
        }

        await Eventually.HoldsAsync(async () => await harness.PoolCountAsync(response.MessageId) == 0, Patience, "delivered Deliveries leave the Pool");
        var stats = await Eventually.ReturnsAsync(() => harness.StatsOfAsync(response.MessageId), s => s.Count(x => x.Type == "delivered") == 50, Patience);
        stats.Count(s => s.Type == "accepted").Should().Be(50);
    }

    [Fact]
    public async Task A_550_at_rcpt_is_one_bounce_after_one_attempt()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres);
        var address = $"bounce-me@{SendPathHarness.RecipientDomain}";

        var response = await harness.Mailer.SendHTMLAsync(Html(harness, address));

        var stats = await Eventually.ReturnsAsync(() => harness.StatsOfAsync(response.MessageId), s => s.Any(x => x.Type == "bounced"), Patience);
        var bounce = stats.Single(s => s.Type == "bounced").Data.Bounced;
        bounce.Permanent.Should().BeTrue();
        bounce.Code.Should().Be(550u);
        bounce.Msg.Should().Contain("5.1.1");
        await Eventually.HoldsAsync(async () => await harness.PoolCountAsync(response.MessageId) == 0, Patience);
        harness.Receiver.RcptAttempts(address).Should().Be(1);
        stats.Should().NotContain(s => s.Type == "delivered" || s.Type == "error");
    }

    [Fact]
    public async Task Two_451s_then_250_is_two_errors_then_delivered()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres);
        var address = $"transient-2@{SendPathHarness.RecipientDomain}";

        var response = await harness.Mailer.SendHTMLAsync(Html(harness, address));

        var stats = await Eventually.ReturnsAsync(() => harness.StatsOfAsync(response.MessageId), s => s.Any(x => x.Type == "delivered"), Patience);
        stats.Count(s => s.Type == "error").Should().Be(2);
        stats.Where(s => s.Type == "error").Should().AllSatisfy(s => s.Data.Error.Code.Should().Be(451u));
        stats.Count(s => s.Type == "delivered").Should().Be(1);
        harness.Receiver.RcptAttempts(address).Should().Be(3);
        harness.Receiver.Messages.Count(m => m.To.Contains(address)).Should().Be(1);
        await Eventually.HoldsAsync(async () => await harness.PoolCountAsync(response.MessageId) == 0, Patience);
    }

    [Fact]
    public async Task With_every_receiver_down_a_delivery_retries_until_its_budget_ends_in_failed()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres, new Dictionary<string, string?> { ["dispatcher:retry_budget"] = "2s" }, receiverUp: false);

        var response = await harness.Mailer.SendHTMLAsync(Html(harness, $"nobody@{SendPathHarness.RecipientDomain}"));

        List<Kannon.Protos.Stats.Types.Stats> stats;
        try
        {
            stats = await Eventually.ReturnsAsync(() => harness.StatsOfAsync(response.MessageId), s => s.Any(x => x.Type == "failed"), Patience);
        }
        catch (TimeoutException)
        {
            var seen = await harness.StatsOfAsync(response.MessageId);
            throw new TimeoutException($"no failed outcome; stats: {string.Join(", ", seen.Select(x => x.Type + ":" + x.Data))}; pool: {await harness.PoolCountAsync(response.MessageId)}");
        }
        stats.Count(s => s.Type == "failed").Should().Be(1);
        stats.Single(s => s.Type == "failed").Data.Failed.Reason.Should().Contain("retry budget").And.NotContain("nobody@");
        stats.Count(s => s.Type == "error").Should().BeGreaterThanOrEqualTo(1);
        stats.Should().NotContain(s => s.Type == "delivered");
        await Eventually.HoldsAsync(async () => await harness.PoolCountAsync(response.MessageId) == 0, Patience, "a failed Delivery leaves the Pool");
    }

    [Fact]
    public async Task Two_dispatchers_and_two_senders_deliver_every_message_exactly_once()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres, new Dictionary<string, string?> { ["dispatcher:batch_size"] = "20" });
        await harness.AddHostAsync(new Roles(Dispatcher: true, Sender: true));
        var request = Html(harness, $"first@{SendPathHarness.RecipientDomain}");
        for (var i = 0; i < 299; i++)
        {
            request.Recipients.Add(new Recipient { Email = $"r{i}@{SendPathHarness.RecipientDomain}" });
        }

        var response = await harness.Mailer.SendHTMLAsync(request);

        response.AcceptedCount.Should().Be(300);
        await Eventually.HoldsAsync(async () => await harness.PoolCountAsync(response.MessageId) == 0, Patience, "every Delivery ends");
        var received = harness.Receiver.Messages.SelectMany(m => m.To).ToList();
        received.Should().HaveCount(300).And.OnlyHaveUniqueItems();
        var stats = await Eventually.ReturnsAsync(() => harness.StatsOfAsync(response.MessageId), s => s.Count(x => x.Type == "delivered") >= 300, Patience);
        stats.Count(s => s.Type == "delivered").Should().Be(300);
    }

    private static SendHTMLReq Html(SendPathHarness harness, string recipient) => new()
    {
        Sender = harness.Sender(),
        Subject = "Hi",
        Html = "<html><body><p>Hello</p></body></html>",
        Recipients = { new Recipient { Email = recipient } },
    };

}
