using System.Text.RegularExpressions;
using Kannon.Tests.EndToEnd;
using Kannon.Tests.Infrastructure;
using MimeKit;

namespace Kannon.Tests.Cli;

/// <summary>
/// <c>kannon send</c> and <c>kannon stats</c> on the whole send path (API, Validator, Dispatcher, Sender, Stats on real
/// PostgreSQL and NATS, a DNS MX and a recording SMTP server), with a key made by <c>kannon apikey create</c>.
/// </summary>
public sealed partial class SendAndStatsCommandTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Send_prints_the_message_id_the_message_arrives_and_stats_shows_it_accepted_and_delivered()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres);
        var key = await NewKeyAsync(harness);
        var recipient = $"ann@{SendPathHarness.RecipientDomain}";

        var sent = await KannonCli.RunAsync(
            "send", "--api", harness.Host.ApiAddress!.ToString(), "--key", key,
            "--from", $"news@{harness.Domain}", "--alias", "Kannon News", "--to", recipient, "--to", "not-an-address",
            "--subject", "Hello {{ name }}", "--html", "<p>Hi {{ name }}, code {{ code }}</p>", "--field", "name=Ann", "--field", "code=C42");

        sent.Code.Should().Be(0, sent.ToString());
        var messageId = MessageId().Match(sent.Output).Groups[1].Value;
        messageId.Should().StartWith("msg_").And.EndWith("@" + harness.Domain);
        sent.Output.Should().Contain("accepted:   1").And.Contain("rejected:   1").And.Contain("not-an-address: invalid_email");
        var received = await Eventually.ReturnsAsync(() => Task.FromResult(harness.Receiver.Messages), m => m.Count >= 1, Patience, "the message reaches the MX");
        var message = MimeMessage.Load(new MemoryStream(received.Should().ContainSingle().Subject.Raw));
        message.To.Mailboxes.Single().Address.Should().Be(recipient);
        message.From.Mailboxes.Single().Name.Should().Be("Kannon News");
        message.Subject.Should().Be("Hello Ann");
        message.HtmlBody.Should().Contain("Hi Ann, code C42");

        var stats = await Eventually.ReturnsAsync(
            () => KannonCli.OperatorAsync(harness.Host, "stats", "--domain", harness.Domain, "--since", "1h"),
            r => r.Code == 0 && Regex.IsMatch(r.Output, $@"(?m)^\S+ \S+\s+delivered\s+{Regex.Escape(recipient)}"),
            Patience,
            "stats lists the delivery");

        stats.Output.Should().StartWith($"Events of {harness.Domain} since ");
        stats.Output.Should().MatchRegex($@"(?m)^\S+ \S+\s+accepted\s+{Regex.Escape(recipient)}");
        stats.Output.Should().MatchRegex(@"(?m)^TIME\s+TYPE\s+RECIPIENT\s+DETAILS$");
        var totals = stats.Output[stats.Output.IndexOf("Totals:", StringComparison.Ordinal)..];
        totals.Should().MatchRegex(@"(?m)^accepted\s+1$").And.MatchRegex(@"(?m)^delivered\s+1$");
        var lines = stats.Output.Split('\n');
        Array.FindIndex(lines, l => l.Contains("delivered", StringComparison.Ordinal))
            .Should().BeLessThan(Array.FindIndex(lines, l => l.Contains(" accepted ", StringComparison.Ordinal)), "newest first");
    }

    [Fact]
    public async Task Send_with_a_stored_template_and_a_wrong_key()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres);
        var key = await NewKeyAsync(harness);
        var created = await KannonCli.OperatorAsync(harness.Host, "template", "create", "--domain", harness.Domain, "--title", "Welcome", "--html", "<p>Welcome {{ name }}</p>").SucceedsAsync();
        var templateId = Regex.Match(created, @"template_\S+@\S+[a-z]").Value;
        var recipient = $"bob@{SendPathHarness.RecipientDomain}";
        string[] send = ["send", "--api", harness.Host.ApiAddress!.ToString(), "--from", $"news@{harness.Domain}", "--to", recipient, "--subject", "Welcome", "--template", templateId, "--field", "name=Bob"];

        var refused = await KannonCli.RunAsync([.. send, "--key", "k_" + new string('x', 64)]);
        var sent = await KannonCli.RunAsync([.. send, "--key", key]);

        refused.Code.Should().NotBe(0);
        refused.ErrorLines.Should().ContainSingle().Which.Should().StartWith($"kannon: the API key was refused for domain '{harness.Domain}'");
        sent.Code.Should().Be(0, sent.ToString());
        sent.Output.Should().Contain("accepted:   1");
        var received = await Eventually.ReturnsAsync(() => Task.FromResult(harness.Receiver.Messages), m => m.Count >= 1, Patience, "the message reaches the MX");
        MimeMessage.Load(new MemoryStream(received.Single().Raw)).HtmlBody.Should().Contain("Welcome Bob");
    }

    [Fact]
    public async Task Send_without_a_key_says_how_to_get_one()
    {
        var result = await KannonCli.RunAsync("send", "--api", "127.0.0.1:1", "--from", "news@example.com", "--to", "a@example.org", "--subject", "s", "--html", "<p/>");

        result.Code.Should().NotBe(0);
        result.ErrorLines.Should().ContainSingle().Which.Should().Contain("--key").And.Contain("KANNON_API_KEY").And.Contain("kannon apikey create --domain example.com");
    }

    private static async Task<string> NewKeyAsync(SendPathHarness harness)
    {
        var output = await KannonCli.OperatorAsync(harness.Host, "apikey", "create", "--domain", harness.Domain, "--name", "cli").SucceedsAsync();
        return Regex.Match(output, @"(?m)^\s+(k_[A-Za-z0-9]{64})$").Groups[1].Value;
    }

    [GeneratedRegex(@"(?m)^message id: (\S+)$")]
    private static partial Regex MessageId();
}
