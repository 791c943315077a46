using System.Text;
using Google.Protobuf;
using Kannon.Dkim;
using Kannon.Protos.Mailer.Types;
using Kannon.Templates;
using Kannon.Tracking;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Kannon.Envelopes;

/// <summary>
/// Builds one Delivery's Envelope: the rendered, tracked, DKIM-signed RFC 5322 message and its SMTP
/// envelope (UPSTREAM §4). Pure and in memory: templates and DKIM keys are parsed once and cached, and the
/// only shared state it reads is the tracking key ring, which the caller keeps fresh with
/// <see cref="TrackingKeyRing.EnsureSigningKeyAsync"/>. Safe to call from several threads.
/// </summary>
internal sealed class EnvelopeBuilder(TemplateRenderer templates, TrackingTokens tokens, DkimSigners dkim, ReturnPathSigner returnPaths, IOptions<TrackerOptions> tracker)
{
    private static readonly FormatOptions Ascii = Options(international: false);

    // SMTPUTF8: non-ASCII addresses must be written as UTF-8; only then, so that ASCII mail stays 7-bit.
    private static readonly FormatOptions International = Options(international: true);

    // The headers a receiver judges a message by; the signer lists those the message has. Content-Type is
    // the body's, written among the message headers.
    private static readonly string[] Signable =
    [
        "From", "Reply-To", "To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version",
        "List-Unsubscribe", "List-Unsubscribe-Post", "Content-Type",
    ];

    private readonly string? _trackerBase = tracker.Value.BaseUrl?.TrimEnd('/');

    /// <summary>The Envelope to publish on <c>kannon.sending</c>; <c>should_retry</c> is left for the caller.</summary>
    /// <exception cref="EnvelopeException">the Delivery's data cannot make a message (template, address, DKIM key)</exception>
    /// <exception cref="InvalidOperationException">the tracking key ring has no signing key (not made ready)</exception>
    public EmailToSend Build(EnvelopeBatch batch, EnvelopeRecipient recipient, DateTimeOffset buildTime)
    {
        var email = recipient.Email;
        var emailId = EnvelopeIds.EmailId(email, batch.BatchId);
        try
        {
            var subject = templates.RenderSubject(batch.BatchId, batch.Subject, email, recipient.Fields);
            var rendered = templates.RenderHtml(batch.TemplateId, batch.Html, email, recipient.Fields);

            // Both parts are written into builders the thread keeps, and encoded from there (no string of either).
            var text = ScratchText.Acquire(rendered.Length / 2);
            var html = ScratchText.Acquire(rendered.Length + 4096);
            try
            {
                // From the rendered HTML before tracking: the text part shows where links really go.
                HtmlToText.Convert(rendered, text);
                Track(batch, recipient, rendered, html);

                var returnPath = returnPaths.ReturnPath(email, batch.BatchId);
                var unsubscribe = ListUnsubscribe(batch, recipient, returnPath);

                // Without attachments MimeKit writes only the header block; the two parts are written straight after it.
                var boundary = batch.Attachments.Count == 0 ? AlternativeBody.NewBoundary() : null;
                var message = Message(batch, recipient, emailId, OneLine(subject), buildTime, text, html, unsubscribe, boundary, out var international);
                using var buffer = new MessageBuffer(((html.Length + text.Length) * 11 / 10) + 4096);
                message.WriteTo(international ? International : Ascii, buffer, headersOnly: boundary is not null);
                if (boundary is not null)
                {
                    AlternativeBody.Write(buffer, boundary, text, html);
                }

                return new EmailToSend
                {
                    EmailId = emailId,
                    From = batch.SenderEmail,
                    To = email,
                    ReturnPath = returnPath,
                    Body = UnsafeByteOperations.UnsafeWrap(batch.Dkim is { } material
                        ? dkim.For(material).Sign(buffer.WrittenSpan, Signable, buildTime)
                        : buffer.WrittenSpan.ToArray()),
                };
            }
            finally
            {
                ScratchText.Return(html);
                ScratchText.Return(text);
            }
        }
        catch (Exception e) when (e is TemplateException or ParseException or FormatException or ArgumentException)
        {
            // Names the Batch, not the Delivery: the message id encodes the address.
            throw new EnvelopeException($"cannot build a message of {batch.BatchId}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The <c>List-Unsubscribe</c> value (RFC 2369), or null for none: the caller's one-click URL when the Batch
    /// gave one; else, when the Domain's setting is hosted, the Tracker's <c>/u/&lt;token&gt;</c> (a signed
    /// unsubscribe token for this Batch and recipient) and a mailto: to the return path (ADR 0013).
    /// </summary>
    private string? ListUnsubscribe(EnvelopeBatch batch, EnvelopeRecipient recipient, string returnPath)
    {
        if (recipient.UnsubscribeUrl is { } url)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps
                || url.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '<' or '>'))
            {
                throw new ArgumentException("the unsubscribe URL is not an absolute https URL without spaces");
            }

            return $"<{url}>";
        }

        if (!batch.HostedUnsubscribe)
        {
            return null;
        }

        var token = tokens.CreateUnsubscribe(batch.BatchId, recipient.Email);
        return $"<{TrackerBase(batch)}/u/{token}>, <mailto:{returnPath}?subject=unsubscribe>";
    }

    private string TrackerBase(EnvelopeBatch batch) => _trackerBase ?? $"https://stats.{batch.Domain}";

    private void Track(EnvelopeBatch batch, EnvelopeRecipient recipient, string html, StringBuilder output)
    {
        var trackerBase = TrackerBase(batch);
        var links = Tracks(recipient.Tracking.Links)
            ? (url, output) => tokens.AppendLink(output.Append(trackerBase).Append("/c/"), batch.BatchId, recipient.Email, url)
            : (Action<string, StringBuilder>?)null;

        // Strips data-no-track even when links are not tracked: it is an instruction to us, not to readers.
        var pixel = Tracks(recipient.Tracking.Opens) ? $"{trackerBase}/o/{tokens.CreateOpen(batch.BatchId, recipient.Email)}" : null;
        HtmlTracking.RewriteLinks(html, links, pixel, output);
    }

    /// <summary>
    /// Whether an axis is tracked. anonymous and pseudonymous are tracked as identified for now (the token
    /// names the recipient); an unstated axis is the domain default, identified; a mode this version does not
    /// know is treated as off, the side that cannot leak.
    /// </summary>
    private static bool Tracks(string? mode) => mode is null or "anonymous" or "pseudonymous" or "identified" or "full";

    private static MimeMessage Message(
        EnvelopeBatch batch, EnvelopeRecipient recipient, string emailId, string subject, DateTimeOffset buildTime,
        StringBuilder text, StringBuilder html, string? listUnsubscribe, string? boundary, out bool international)
    {
        international = !System.Text.Ascii.IsValid(recipient.Email) || !System.Text.Ascii.IsValid(batch.SenderEmail);

        // Not new MimeMessage(): it generates a Message-Id from the host name, ~100 µs a message.
        var message = new MimeMessage((IEnumerable<Header>)[]);
        var from = new MailboxAddress(OneLine(batch.SenderAlias), batch.SenderEmail);
        message.From.Add(from);
        message.ReplyTo.Add(from);
        if (batch.To.Count == 0)
        {
            message.To.Add(new MailboxAddress("", recipient.Email));
        }
        else
        {
            Add(message.To, batch.To, ref international);
        }

        Add(message.Cc, batch.Cc, ref international);
        message.Subject = subject;
        message.Date = buildTime;
        message.MessageId = emailId[1..^1];
        message.Headers.Add("X-Pool-Message-ID", batch.BatchId);
        message.MimeVersion = new Version(1, 0);
        if (listUnsubscribe is not null)
        {
            // RFC 8058: both are signed (Signable), so nobody on the way can add or change them.
            message.Headers.Add(HeaderId.ListUnsubscribe, listUnsubscribe);
            message.Headers.Add("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        }

        if (boundary is null)
        {
            message.Body = Body(batch, text.ToString(), html.ToString());
        }
        else
        {
            message.Headers.Add(HeaderId.ContentType, AlternativeBody.ContentType(boundary));
        }

        return message;
    }

    private static void Add(InternetAddressList list, IReadOnlyList<string> addresses, ref bool international)
    {
        foreach (var address in addresses)
        {
            var mailbox = MailboxAddress.Parse(address);
            international |= !System.Text.Ascii.IsValid(mailbox.Address);
            list.Add(mailbox);
        }
    }

    /// <summary>The MIME tree of a Batch with attachments: <c>multipart/mixed</c> of the alternative and the files.</summary>
    private static MimeEntity Body(EnvelopeBatch batch, string text, string html)
    {
        var plain = new TextPart("plain") { ContentTransferEncoding = ContentEncoding.QuotedPrintable };
        plain.SetText(Encoding.UTF8, text);
        var rich = new TextPart("html") { ContentTransferEncoding = ContentEncoding.QuotedPrintable };
        rich.SetText(Encoding.UTF8, html);
        var alternative = new MultipartAlternative { plain, rich };
        var mixed = new Multipart("mixed") { alternative };
        foreach (var attachment in batch.Attachments)
        {
            mixed.Add(new MimePart(MimeTypes.GetMimeType(attachment.Filename))
            {
                Content = new MimeContent(new MemoryStream(attachment.Content, writable: false)),
                ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
                ContentTransferEncoding = ContentEncoding.Base64,
                FileName = attachment.Filename,
            });
        }

        return mixed;
    }

    // A field value rendered into a header must not start a new header line.
    private static string OneLine(string value) =>
        value.AsSpan().IndexOfAny('\r', '\n') < 0 ? value : value.ReplaceLineEndings(" ");

    private static FormatOptions Options(bool international)
    {
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        options.International = international;
        return options;
    }
}
