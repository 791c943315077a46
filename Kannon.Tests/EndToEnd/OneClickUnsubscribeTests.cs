using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Kannon.Hosting;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Suppression;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Tests.Infrastructure;
using MimeKit;
using MimeKit.Cryptography;

namespace Kannon.Tests.EndToEnd;

/// <summary>
/// Hosted one-click unsubscribe through the whole send path (API, Dispatcher, Sender to a recording SMTP
/// server) and back through the Tracker: the headers the recipient gets, their DKIM signature, and the POST.
/// </summary>
public sealed partial class OneClickUnsubscribeTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static readonly Roles SendAndTrack = new(Api: true, Validator: true, Dispatcher: true, Sender: true, Stats: true, Tracker: true);

    [Fact]
    public async Task A_delivered_message_carries_both_signed_headers_and_its_one_click_post_stores_the_unsubscribe()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres, roles: SendAndTrack);
        var recipient = $"ann@{SendPathHarness.RecipientDomain}";

        var sent = await harness.Mailer.SendHTMLAsync(new SendHTMLReq
        {
            Sender = harness.Sender(),
            Subject = "News",
            Html = "<p>Hello</p>",
            Recipients = { new Recipient { Email = recipient } },
        });

        var message = await ReceivedAsync(harness, recipient);
        var listUnsubscribe = message.Headers[HeaderId.ListUnsubscribe];
        var match = HostedHeader().Match(listUnsubscribe ?? "");
        match.Success.Should().BeTrue($"List-Unsubscribe is the Tracker's link and a mailto ({listUnsubscribe})");
        match.Groups["mailto"].Value.Should().Be(harness.Receiver.Messages.Single(m => m.To.Contains(recipient)).From, "the mailto is the return path");
        message.Headers["List-Unsubscribe-Post"].Should().Be("List-Unsubscribe=One-Click");
        var signature = message.Headers[message.Headers.IndexOf(HeaderId.DkimSignature)];
        SignedHeaders(signature.Value).Should().Contain("list-unsubscribe").And.Contain("list-unsubscribe-post");
        new DkimVerifier(new DnsKeyLocator(harness.Domain, harness.DkimPublicKey)).Verify(message, signature).Should().BeTrue();

        // tracker.base_url is https://track.test in the harness; the same path on the Tracker's real address.
        using var http = new HttpClient { BaseAddress = harness.Host.HttpAddress };
        using var response = await http.PostAsync($"/u/{match.Groups["token"].Value}",
            new StringContent("List-Unsubscribe=One-Click", Encoding.ASCII, "application/x-www-form-urlencoded"));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        // The Dispatcher turns the unsubscribe event into the Domain's suppression.
        var suppressions = new SuppressionList(harness.Host.Services.GetRequiredService<NpgsqlDataSource>());
        var suppressed = await Eventually.ReturnsAsync(() => suppressions.FindAsync(harness.Domain, recipient, CancellationToken.None), s => s is not null, Patience,
            "the unsubscribe suppresses the address");
        suppressed!.Reason.Should().Be(SuppressionReason.Unsubscribe);
        suppressed.MessageId.Should().Be(sent.MessageId);
        var stats = await Eventually.ReturnsAsync(() => harness.StatsOfAsync(sent.MessageId), s => s.Any(x => x.Type == "unsubscribed"), Patience,
            "the Stats worker records the unsubscribed outcome");
        stats.Where(s => s.Type == "unsubscribed").Should().ContainSingle().Which.Email.Should().Be(recipient);
    }

    [Fact]
    public async Task A_domain_with_unsubscribe_off_sends_without_list_unsubscribe()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres);
        await harness.Host.Admin().SetUnsubscribePolicyAsync(new SetUnsubscribePolicyReq { Domain = harness.Domain, Unsubscribe = "off" });
        var recipient = $"bob@{SendPathHarness.RecipientDomain}";

        await harness.Mailer.SendHTMLAsync(new SendHTMLReq
        {
            Sender = harness.Sender(),
            Subject = "Your receipt",
            Html = "<p>Thanks</p>",
            Recipients = { new Recipient { Email = recipient } },
        });

        var message = await ReceivedAsync(harness, recipient);
        message.Headers.Contains(HeaderId.ListUnsubscribe).Should().BeFalse();
        message.Headers.Contains("List-Unsubscribe-Post").Should().BeFalse();
    }

    private static IEnumerable<string> SignedHeaders(string dkimSignature) =>
        SignedHeaderList().Match(dkimSignature).Groups[1].Value.Split(':').Select(h => h.Trim().ToLowerInvariant());

    internal static async Task<MimeMessage> ReceivedAsync(SendPathHarness harness, string recipient)
    {
        var received = await Eventually.ReturnsAsync(
            () => Task.FromResult(harness.Receiver.Messages.FirstOrDefault(m => m.To.Contains(recipient))),
            m => m is not null, Patience, $"a message for {recipient}");
        return MimeMessage.Load(new MemoryStream(received!.Raw));
    }

    [GeneratedRegex(@"^<https://track\.test/u/(?<token>[A-Za-z0-9_.-]+)>,\s*<mailto:(?<mailto>[^>?]+)\?subject=unsubscribe>$")]
    private static partial Regex HostedHeader();

    [GeneratedRegex(@"\bh=([^;]+)")]
    private static partial Regex SignedHeaderList();
}
