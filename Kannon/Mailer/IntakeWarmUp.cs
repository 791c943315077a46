using Google.Protobuf;
using Kannon.Api;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Templates;
using MimeKit;

namespace Kannon.Mailer;

/// <summary>
/// Compiles intake's own code before the API serves: methods are compiled once, optimized, on first use (no tiered
/// compilation, ADR 0016), and on a fresh process the first SendHTML paid ~0.3 s compiling the Liquid parser alone,
/// besides the request's parser, the NUL check and the screen (ADR 0019). Runs while the API is mapped, before it
/// serves; touches no database and no network.
/// </summary>
internal static class IntakeWarmUp
{
    public static void Run()
    {
        var request = new SendHTMLReq
        {
            Sender = new Protos.Mailer.Types.Sender { Email = "warm-up@example.org", Alias = "Warm up" },
            Subject = "Hello {{ name }}",
            Html = "<html><body><p>Hello {{ name | default: 'friend' }}</p><a href=\"https://example.org/a\">a</a>{% if x %}x{% endif %}</body></html>",
            GlobalFields = { ["shop"] = "Warm up" },
            Recipients =
            {
                new Recipient { Email = "ann@example.org", Fields = { ["name"] = "Ann" } },
                new Recipient { Email = " bob@example.org " },
            },
        };
        var parsed = RecipientPayloadDecoder.Decode(SendHTMLReq.Parser, request.ToByteArray());
        _ = NulCharacterInterceptor.FindNul(parsed);
        _ = MailboxAddress.TryParse(parsed.Sender.Email, out _);
        _ = LiquidSyntax.Problem(parsed.Html);
        _ = LiquidSyntax.Problem(parsed.Subject);
        var recipients = RecipientPayloadExtensions.RecipientsOf(parsed, parsed.Recipients);
        var fields = new DeliveryFieldsWriter(parsed.GlobalFields);
        var screen = new RecipientScreen(recipients.Count);
        var recipient = new Recipient();
        _ = recipients.AnyFields();
        for (var i = 0; i < recipients.Count; i++)
        {
            recipients.Read(i, recipient);
            if (screen.Admit(recipient.Email) is not null)
            {
                _ = fields.Write(recipient.Fields);
            }
        }
    }
}
