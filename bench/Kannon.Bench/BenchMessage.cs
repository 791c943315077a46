using System.Globalization;
using System.Text;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using MimeKit;

namespace Kannon.Bench;

/// <summary>The one message every phase sends: about 5 KB of HTML with links, personalised by name.</summary>
internal static class BenchMessage
{
    public const string SenderDomain = "bench-sender.example";

    /// <summary>End-to-end recipients; their MX is the counting smtp-sink on 127.0.0.1.</summary>
    public const string RecipientDomain = "bench-recipients.example";

    /// <summary>Latency recipients; their MX is the bench's own receiver on 127.0.0.2 (same port as the sink).</summary>
    public const string LatencyDomain = "bench-latency.example";

    /// <summary>Intake recipients; delivered by the throw-away intake instance to a sink nobody reads.</summary>
    public const string IntakeDomain = "bench-intake.example";

    public const string From = "news@" + SenderDomain;

    private const string Subject = "Hello {{ name }}";

    public static readonly string Html = BuildHtml();

    public static SendHTMLReq Request(string domain, int first, int count)
    {
        var request = new SendHTMLReq
        {
            Sender = new Kannon.Protos.Mailer.Types.Sender { Email = From, Alias = "Bench" },
            Subject = Subject,
            Html = Html,
        };
        for (var i = first; i < first + count; i++)
        {
            request.Recipients.Add(new Recipient { Email = $"user{i}@{domain}", Fields = { ["name"] = $"User {i}" } });
        }

        return request;
    }

    /// <summary>
    /// The message Postfix relays, as a file for smtp-source -F (LF line ends; it adds the CRs): what Kannon
    /// delivered in the latency phase with Kannon's own DKIM signature taken off (opendkim adds one), or, when
    /// that phase was skipped, the same HTML rendered here for user 0.
    /// </summary>
    public static byte[] ForPostfix(byte[]? deliveredByKannon)
    {
        MimeMessage message;
        if (deliveredByKannon is not null)
        {
            message = MimeMessage.Load(new MemoryStream(deliveredByKannon));
            message.Headers.RemoveAll(HeaderId.DkimSignature);
        }
        else
        {
            message = new MimeMessage();
            message.From.Add(new MailboxAddress("Bench", From));
            message.To.Add(MailboxAddress.Parse($"user0@{RecipientDomain}"));
            message.Subject = "Hello User 0";
            message.Date = DateTimeOffset.UtcNow;
            message.MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId(SenderDomain);
            message.Body = new TextPart("html") { Text = Html.Replace("{{ name }}", "User 0", StringComparison.Ordinal) };
        }

        using var output = new MemoryStream();
        message.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Unix }, output);
        return output.ToArray();
    }

    private static string BuildHtml()
    {
        // About 5 KB of HTML with links (rewritten for click tracking) and a body end (open pixel).
        var body = new StringBuilder("<html><body><h1>Hello {{ name }}</h1>");
        for (var i = 0; body.Length < 5_000; i++)
        {
            body.Append(CultureInfo.InvariantCulture, $"<p>Paragraph {i}: lorem ipsum dolor sit amet, consectetur adipiscing elit. <a href=\"https://example.com/articles/{i}\">Read more</a></p>");
        }

        return body.Append("</body></html>").ToString();
    }
}
