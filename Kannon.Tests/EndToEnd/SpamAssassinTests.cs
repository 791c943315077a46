using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Tests.Infrastructure;
using MimeKit;

namespace Kannon.Tests.EndToEnd;

/// <summary>
/// A message built by the real send path, as the recipient's MX received it, judged by Debian's SpamAssassin
/// with local rules only (<c>spamassassin -L -t</c>: no network tests, so the verdict depends on the message
/// alone). <c>./test.sh</c> installs spamassassin (scripts/install-deps).
/// </summary>
public sealed partial class SpamAssassinTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly TimeSpan SpamAssassinTimeout = TimeSpan.FromMinutes(2);

    // Everything SpamAssassin's HTML_IMAGE_ONLY_* rules look at: any <img> (the open pixel is one) in an HTML part
    // with under 3,200 bytes of text adds 0.6 to 2.8 points, so a short message is judged without the pixel and a
    // newsletter of ordinary length with it (ADR 0013 records the trade-off).
    private const string Newsletter = """
        <!DOCTYPE html>
        <html>
        <head><meta charset="utf-8"><title>March newsletter</title></head>
        <body style="font-family: Arial, sans-serif; color: #333333;">
          <h1 style="font-size: 20px;">Hello {{ name }},</h1>
          <p>Spring is close, and the garden club has a busy month ahead. Here is what is happening, what we
          learned in February, and a few notes from members who wrote in.</p>
          <h2 style="font-size: 16px;">The March meeting</h2>
          <p>Our March meeting is on Thursday the 14th at 7 pm in the community hall on Mill Lane. Tom will
          show how he starts tomatoes and peppers indoors on a windowsill, without a greenhouse and without
          grow lights, and what he does differently for chillies, which need more warmth and more patience.
          After the talk we will swap seeds saved from last summer: bring them in paper envelopes with the
          variety and the year written on the front, and take home whatever you would like to try.</p>
          <p>Tea and biscuits are on us, as always. Please bring your own cup if you can; we are trying to use
          fewer paper cups this year, and the hall has only twenty mugs.</p>
          <h2 style="font-size: 16px;">What we learned in February</h2>
          <p>Thank you to everyone who came to the pruning workshop at the allotments. Most of the questions were
          about apple trees, so here is the short version of the answers. Prune on a dry day while the tree is
          dormant. Take out dead, damaged and crossing branches first, then thin the centre so that light and air
          reach the middle of the tree. Never remove more than a quarter of the canopy in one winter, or the tree
          answers with a forest of upright water shoots in summer. Clean your blades between trees, especially if
          one of them has canker.</p>
          <p>Plums and cherries are different: leave them until summer, because cutting them in winter invites
          silver leaf disease into the wounds.</p>
          <h2 style="font-size: 16px;">From our members</h2>
          <p>Priya wrote to say that her broad beans, sown in November, came through the frost in January with
          only a little damage, under a double layer of fleece. She recommends the variety Aquadulce for autumn
          sowing and says the mice left them alone once she started the seeds in pots in the shed.</p>
          <p>George has a surplus of rhubarb crowns and will bring them to the meeting for anyone who would like
          one. They need a sunny spot, plenty of compost, and a year of rest before the first harvest.</p>
          <h2 style="font-size: 16px;">Dates for your diary</h2>
          <p>The plant sale is on Saturday the 20th of April from 10 am at the school field. If you are growing
          extra seedlings, pot them up and label them; all the money goes to the school garden project. In May we
          visit the walled garden at Ashby House, where the head gardener has promised us a tour of the glass
          houses and the old vinery. Places on the coach are limited, so let Maria know soon.</p>
          <p>The notes of every meeting are on <a href="https://garden.example.org/notes">our notes page</a> the
          day after, with the slides and the handouts.</p>
          <p>See you on Thursday,<br>Maria, for the garden club</p>
        </body>
        </html>
        """;

    [Fact]
    public async Task A_newsletter_with_the_open_pixel_scores_at_most_zero_and_its_text_part_carries_the_text_not_the_markup()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres, domainName: NewsDomain());
        var recipient = $"ann.smith@{SendPathHarness.RecipientDomain}";
        await harness.Mailer.SendHTMLAsync(new SendHTMLReq
        {
            Sender = harness.Sender("Example Garden Club"),
            Subject = "Garden club: the March meeting, {{ name }}",
            Html = Newsletter,
            Recipients = { new Recipient { Email = recipient, Fields = { ["name"] = "Ann" } } },
        });

        var raw = await ReceivedAsync(harness, recipient);
        var message = MimeMessage.Load(new MemoryStream(raw));
        message.HtmlBody.Should().Contain("https://track.test/o/", "the message carries the open pixel");
        message.Headers.Contains(HeaderId.ListUnsubscribe).Should().BeTrue("the domain hosts one-click unsubscribe");
        var alternative = message.Body.Should().BeOfType<MultipartAlternative>().Subject;
        var text = alternative.OfType<TextPart>().Should().ContainSingle(p => p.IsPlain).Subject.Text;
        text.Should().Contain("Hello Ann,").And.Contain("tomatoes and peppers indoors").And.Contain("See you on Thursday,");
        text.Should().NotContainAny("<p", "<h1", "<h2", "<br", "</", "style=", "font-family");

        await ScoresAtMostZeroAsync(raw);
    }

    [Fact]
    public async Task A_short_message_without_the_open_pixel_scores_at_most_zero()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres, domainName: NewsDomain());
        var recipient = $"bob.jones@{SendPathHarness.RecipientDomain}";
        await harness.Mailer.SendHTMLAsync(new SendHTMLReq
        {
            Sender = harness.Sender("Example Garden Club"),
            Subject = "Your seat on the Ashby House coach",
            Html = "<p>Hello {{ name }},</p><p>Your seat on the coach to Ashby House on the 18th of May is booked. "
                + "We leave the school car park at 9 am and are back by 5 pm.</p><p>Maria, for the garden club</p>",
            Tracking = new Kannon.Protos.Tracking.Types.TrackingPolicy { Opens = Kannon.Protos.Tracking.Types.TrackingMode.Off },
            Recipients = { new Recipient { Email = recipient, Fields = { ["name"] = "Bob" } } },
        });

        var raw = await ReceivedAsync(harness, recipient);
        MimeMessage.Load(new MemoryStream(raw)).TextBody.Should().Contain("Your seat on the coach to Ashby House").And.NotContain("<p>");

        await ScoresAtMostZeroAsync(raw);
    }

    private static async Task<byte[]> ReceivedAsync(SendPathHarness harness, string recipient) =>
        (await Eventually.ReturnsAsync(
            () => Task.FromResult(harness.Receiver.Messages.FirstOrDefault(m => m.To.Contains(recipient))),
            m => m is not null, TimeSpan.FromSeconds(60), $"the message to {recipient} reaches the MX"))!.Raw;

    private static async Task ScoresAtMostZeroAsync(byte[] raw)
    {
        var verdict = await SpamAssassinAsync(raw);
        var status = SpamStatus().Match(verdict);
        status.Success.Should().BeTrue($"spamassassin adds X-Spam-Status:\n{verdict}");
        var score = double.Parse(status.Groups["score"].Value, CultureInfo.InvariantCulture);
        score.Should().BeLessThanOrEqualTo(0, $"the message should look like the legitimate mail it is; spamassassin said: {status.Value}");
    }

    private static async Task<string> SpamAssassinAsync(byte[] message)
    {
        var start = new ProcessStartInfo("spamassassin")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-L");
        start.ArgumentList.Add("-t");
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("spamassassin is not installed: run scripts/install-deps spamassassin (./test.sh does)", e);
        }

        using (process)
        {
            using var timeout = new CancellationTokenSource(SpamAssassinTimeout);
            var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var error = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.StandardInput.BaseStream.WriteAsync(message, timeout.Token);
            process.StandardInput.Close();
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                throw;
            }

            return await output + "\n" + await error;
        }
    }

    [GeneratedRegex(@"X-Spam-Status: (?:Yes|No), score=(?<score>-?\d+(?:\.\d+)?)[^\n]*(?:\n[ \t][^\n]*)*")]
    private static partial Regex SpamStatus();

    // A random test name (e2e-<random id>) often has seven consonants in a row, which SpamAssassin scores as
    // FROM_DOMAIN_NOVOWEL; a sending domain looks like a word.
    private static string NewsDomain() => $"news-{Guid.NewGuid().ToString("N")[..6].Replace('0', 'a')}.acme-example.com";
}
