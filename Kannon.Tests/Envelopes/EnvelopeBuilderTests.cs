using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Kannon.Dkim;
using Kannon.Envelopes;
using Kannon.Protos.Mailer.Types;
using Kannon.Templates;
using Kannon.Tests.Infrastructure;
using Kannon.Tracking;
using Microsoft.Extensions.Options;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Security;

namespace Kannon.Tests.Envelopes;

public sealed class EnvelopeBuilderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly RSA DkimKey = RSA.Create(2048);

    private readonly ManualClock _clock = new(T0);
    private readonly TrackingTokens _tokens;

    public EnvelopeBuilderTests()
    {
        var key = new TrackingKey("key_t", RandomNumberGenerator.GetBytes(32), T0, T0.AddDays(180));
        _tokens = new TrackingTokens(new TrackingKeyRing([key], TimeSpan.FromDays(90), _clock), _clock);
    }

    private static EnvelopeBatch Batch(string html = "<html><body><p>Dear {{ name }}</p></body></html>") => new()
    {
        BatchId = "msg_abc@example.com",
        Domain = "example.com",
        Subject = "Hello {{ name }}",
        TemplateId = "template_abc@example.com",
        Html = html,
        SenderEmail = "news@example.com",
        SenderAlias = "Example, News",
        Dkim = new DkimMaterial("example.com", "kannon", Convert.ToBase64String(DkimKey.ExportRSAPrivateKey())),
    };

    private static EnvelopeRecipient Recipient(string email = "ann@example.org", TrackingPolicy? tracking = null) => new()
    {
        Email = email,
        Fields = new Dictionary<string, string> { ["name"] = "Ann" },
        Tracking = tracking ?? TrackingPolicy.Default,
    };

    private static readonly ReturnPathSigner ReturnPaths = new(Options.Create(new BounceOptions { Secret = "envelope-builder-tests-bounce-secret-0123" }));

    private EmailToSend Build(EnvelopeBatch batch, EnvelopeRecipient recipient, string? trackerBase = null) =>
        new EnvelopeBuilder(new TemplateRenderer(), _tokens, new DkimSigners(), ReturnPaths, Options.Create(new TrackerOptions { BaseUrl = trackerBase }))
            .Build(batch, recipient, T0);

    private static MimeMessage Parse(EmailToSend envelope) => MimeMessage.Load(new MemoryStream(envelope.Body.ToByteArray()));

    private static bool DkimVerifies(MimeMessage message)
    {
        var index = message.Headers.IndexOf(HeaderId.DkimSignature);
        index.Should().BeGreaterThanOrEqualTo(0, "the message is signed");
        return new DkimVerifier(new StaticKeyLocator()).Verify(message, message.Headers[index]);
    }

    [Fact]
    public void The_envelope_names_sender_recipient_and_a_verp_return_path()
    {
        var envelope = Build(Batch(), Recipient());

        envelope.EmailId.Should().Be(EnvelopeIds.EmailId("ann@example.org", "msg_abc@example.com"));
        envelope.From.Should().Be("news@example.com");
        envelope.To.Should().Be("ann@example.org");
        envelope.ReturnPath.Should().MatchRegex(@"^bump_YW5uQGV4YW1wbGUub3Jn\.[A-Za-z0-9_-]{22}\+msg_abc@example\.com$", "VERP with the MAC of ADR 0011");
        envelope.ShouldRetry.Should().BeFalse();
    }

    [Fact]
    public void Message_id_and_return_path_round_trip()
    {
        var envelope = Build(Batch(), Recipient("o'brien+tag@example.org"));

        EnvelopeIds.TryParseEmailId(Parse(envelope).Headers[HeaderId.MessageId]!, out var recipient, out var batchId).Should().BeTrue();
        recipient.Should().Be("o'brien+tag@example.org");
        batchId.Should().Be("msg_abc@example.com");
        ReturnPaths.TryVerify(envelope.ReturnPath, out recipient, out batchId).Should().BeTrue();
        recipient.Should().Be("o'brien+tag@example.org");
        batchId.Should().Be("msg_abc@example.com");
    }

    [Fact]
    public void The_message_carries_the_headers_of_the_original()
    {
        var message = Parse(Build(Batch(), Recipient()));

        message.From.Mailboxes.Should().ContainSingle().Which.Should().BeEquivalentTo(new { Name = "Example, News", Address = "news@example.com" });
        message.Headers[HeaderId.From].Should().Be("\"Example, News\" <news@example.com>");
        message.ReplyTo.Mailboxes.Single().Address.Should().Be("news@example.com");
        message.To.Mailboxes.Single().Address.Should().Be("ann@example.org");
        message.Cc.Count.Should().Be(0);
        message.Subject.Should().Be("Hello Ann");
        message.Date.Should().Be(T0);
        message.Headers[HeaderId.MessageId].Should().Be("<YW5uQGV4YW1wbGUub3Jn/msg_abc@example.com>");
        message.Headers["X-Pool-Message-ID"].Should().Be("msg_abc@example.com");
        message.Headers[HeaderId.MimeVersion].Should().Be("1.0");
        message.Headers.Contains(HeaderId.ListUnsubscribe).Should().BeFalse();
    }

    [Fact]
    public void Headers_to_and_cc_override_the_visible_addresses_only()
    {
        var envelope = Build(Batch() with { To = ["boss@example.net", "team@example.net"], Cc = ["cc1@example.net", "cc2@example.net"] }, Recipient());
        var message = Parse(envelope);

        message.To.Mailboxes.Select(m => m.Address).Should().Equal("boss@example.net", "team@example.net");
        message.Headers[HeaderId.Cc].Should().Be("cc1@example.net, cc2@example.net");
        envelope.To.Should().Be("ann@example.org");
    }

    [Fact]
    public void A_one_click_unsubscribe_url_adds_both_rfc_8058_headers()
    {
        const string url = "https://example.com/unsubscribe?u=ann%40example.org";
        var message = Parse(Build(Batch(), Recipient() with { UnsubscribeUrl = url }));

        message.Headers[HeaderId.ListUnsubscribe].Should().Be($"<{url}>");
        message.Headers["List-Unsubscribe-Post"].Should().Be("List-Unsubscribe=One-Click");
        DkimVerifies(message).Should().BeTrue();
        SignedHeaderNames(message).Should().EndWith("mime-version:list-unsubscribe:list-unsubscribe-post:content-type");
    }

    [Fact]
    public async Task A_hosted_domain_gets_the_trackers_one_click_link_with_a_signed_unsubscribe_token_and_a_mailto()
    {
        var envelope = Build(Batch() with { HostedUnsubscribe = true }, Recipient(), trackerBase: "https://t.example.net/");
        var message = Parse(envelope);

        var value = message.Headers[HeaderId.ListUnsubscribe];
        var match = Regex.Match(value!, @"^<https://t\.example\.net/u/(?<token>[A-Za-z0-9_.-]+)>, <mailto:(?<mailto>[^>?]+)\?subject=unsubscribe>$");
        match.Success.Should().BeTrue(value);
        match.Groups["mailto"].Value.Should().Be(envelope.ReturnPath);
        message.Headers["List-Unsubscribe-Post"].Should().Be("List-Unsubscribe=One-Click");
        DkimVerifies(message).Should().BeTrue();
        SignedHeaderNames(message).Should().EndWith("mime-version:list-unsubscribe:list-unsubscribe-post:content-type");

        var claims = await _tokens.VerifyAsync(match.Groups["token"].Value, TrackingAudience.Unsubscribe, CancellationToken.None);
        claims.Should().NotBeNull("the token is an unsubscribe token of the tracking key ring");
        claims!.BatchId.Should().Be("msg_abc@example.com");
        claims.Email.Should().Be("ann@example.org");
        claims.ExpiresAt.Should().Be(T0.AddDays(90), "it lives as long as any tracking token (tracker.token_lifetime)");
        (await _tokens.VerifyAsync(match.Groups["token"].Value, TrackingAudience.Link, CancellationToken.None)).Should().BeNull("it is no click token");
    }

    [Fact]
    public void A_domain_with_unsubscribe_off_gets_no_list_unsubscribe_and_a_callers_url_wins_over_hosting()
    {
        const string url = "https://example.com/unsubscribe?u=ann%40example.org";

        var off = Parse(Build(Batch(), Recipient()));
        var callers = Parse(Build(Batch() with { HostedUnsubscribe = true }, Recipient() with { UnsubscribeUrl = url }));

        off.Headers.Contains(HeaderId.ListUnsubscribe).Should().BeFalse();
        off.Headers.Contains("List-Unsubscribe-Post").Should().BeFalse();
        SignedHeaderNames(off).Should().NotContain("list-unsubscribe");
        callers.Headers[HeaderId.ListUnsubscribe].Should().Be($"<{url}>");
    }

    [Fact]
    public void A_non_https_unsubscribe_url_fails_the_build()
    {
        var build = () => Build(Batch(), Recipient() with { UnsubscribeUrl = "http://example.com/u\r\nBcc: x@y.z" });

        build.Should().Throw<EnvelopeException>();
    }

    [Fact]
    public void The_dkim_signature_verifies_against_the_public_key()
    {
        var message = Parse(Build(Batch() with { Cc = ["cc@example.net"] }, Recipient()));

        DkimVerifies(message).Should().BeTrue();
        var signature = Signature(message);
        signature.Should().Contain("a=rsa-sha256").And.Contain("d=example.com").And.Contain("s=kannon").And.Contain("c=relaxed/relaxed");
        SignedHeaderNames(message).Should().Be("from:reply-to:to:cc:subject:date:message-id:mime-version:content-type");
    }

    [Fact]
    public void Altering_the_body_or_a_signed_header_breaks_the_signature()
    {
        var raw = Encoding.UTF8.GetString(Build(Batch(), Recipient()).Body.ToByteArray());
        raw.Should().Contain("Dear Ann");

        var body = MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(raw.Replace("Dear Ann", "Dear Bob"))));
        var subject = MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(raw.Replace("Subject: Hello Ann", "Subject: Hello Bob"))));

        DkimVerifies(body).Should().BeFalse();
        DkimVerifies(subject).Should().BeFalse();
    }

    [Fact]
    public void An_unsigned_batch_has_no_signature()
    {
        Parse(Build(Batch() with { Dkim = null }, Recipient())).Headers.Contains(HeaderId.DkimSignature).Should().BeFalse();
    }

    [Fact]
    public void A_malformed_dkim_key_fails_the_build()
    {
        var build = () => Build(Batch() with { Dkim = new DkimMaterial("example.com", "kannon", "bm90IGEga2V5") }, Recipient());

        build.Should().Throw<EnvelopeException>();
    }

    [Fact]
    public void Every_line_ends_in_crlf()
    {
        var raw = Encoding.UTF8.GetString(Build(Batch(), Recipient()).Body.ToByteArray());

        Regex.IsMatch(raw, "(?<!\r)\n").Should().BeFalse();
        Regex.IsMatch(raw, "\r(?!\n)").Should().BeFalse();
    }

    [Fact]
    public async Task Links_are_rewritten_to_tracker_tokens_and_the_pixel_sits_before_the_body_end()
    {
        const string html = """
            <html><body>
            <a href="https://shop.example.com/p?id={{ name }}">shop</a>
            <a href="mailto:help@example.com">mail</a> <a href="tel:+391234">call</a> <a href="#top">top</a>
            <a href="https://example.com/prefs" data-no-track>prefs</a>
            <img src="https://shop.example.com/p?id=Ann">
            </body></html>
            """;
        var message = Parse(Build(Batch(html), Recipient()));
        var body = message.HtmlBody!;

        var click = Regex.Match(body, """<a href="https://stats\.example\.com/c/([^"]+)">shop</a>""");
        click.Success.Should().BeTrue(body);
        var link = await _tokens.VerifyAsync(click.Groups[1].Value, TrackingAudience.Link, default);
        link.Should().BeEquivalentTo(new { BatchId = "msg_abc@example.com", Email = "ann@example.org", Url = "https://shop.example.com/p?id=Ann" });

        body.Should().Contain("""<a href="mailto:help@example.com">mail</a> <a href="tel:+391234">call</a> <a href="#top">top</a>""");
        body.Should().Contain("""<a href="https://example.com/prefs">prefs</a>""").And.NotContain("data-no-track");
        body.Should().Contain("""<img src="https://shop.example.com/p?id=Ann">""");

        var open = Regex.Match(body, """<img src="https://stats\.example\.com/o/([^"]+)" width="1" height="1" alt="" style="display:none" />\s*</body>""");
        open.Success.Should().BeTrue(body);
        (await _tokens.VerifyAsync(open.Groups[1].Value, TrackingAudience.Open, default))!.Email.Should().Be("ann@example.org");
        DkimVerifies(message).Should().BeTrue();
    }

    [Fact]
    public void Tracking_off_leaves_links_and_adds_no_pixel()
    {
        const string html = """<html><body><a href="https://example.com/a">a</a><a data-no-track href="https://example.com/b">b</a></body></html>""";

        var body = Parse(Build(Batch(html), Recipient(tracking: new TrackingPolicy("off", "off")))).HtmlBody!;

        body.Should().Be("""<html><body><a href="https://example.com/a">a</a><a href="https://example.com/b">b</a></body></html>""");
    }

    [Fact]
    public void Each_axis_is_switched_on_its_own()
    {
        const string html = """<html><body><a href="https://example.com/a">a</a></body></html>""";

        var opensOnly = Parse(Build(Batch(html), Recipient(tracking: new TrackingPolicy("identified", "off")))).HtmlBody!;
        var linksOnly = Parse(Build(Batch(html), Recipient(tracking: new TrackingPolicy("off", "full")))).HtmlBody!;

        opensOnly.Should().Contain("/o/").And.Contain("""href="https://example.com/a""").And.NotContain("/c/");
        linksOnly.Should().Contain("/c/").And.NotContain("/o/");
    }

    [Fact]
    public void The_tracker_base_url_replaces_stats_dot_domain()
    {
        var body = Parse(Build(Batch("""<a href="https://example.com/">x</a>"""), Recipient(), trackerBase: "https://t.example.net/")).HtmlBody!;

        body.Should().Contain("""href="https://t.example.net/c/""").And.Contain("""src="https://t.example.net/o/""");
    }

    [Fact]
    public void The_text_part_carries_the_text_not_the_markup()
    {
        const string html = """<html><head><style>p{color:red}</style></head><body><p>Dear {{ name }} &amp; co,</p><p><a href="https://example.com/x">Read</a></p></body></html>""";

        var message = Parse(Build(Batch(html), Recipient()));

        message.Body!.ContentType.MimeType.Should().Be("multipart/alternative");
        message.TextBody!.TrimEnd().Should().Be("Dear Ann & co,\n\nRead (https://example.com/x)");
        message.HtmlBody!.Should().Contain("<p>Dear Ann &amp; co,</p>");
    }

    [Fact]
    public void The_two_parts_are_the_bytes_mimekit_writes_for_them_and_decode_to_the_text_and_the_html()
    {
        // Everything quoted-printable must escape or break: non-ASCII, '=', trailing spaces and tabs, long lines,
        // a line that looks like a boundary, a leading dot, bare LF and CRLF.
        var html = "<html><body><p>Grüße, {{ name }} = 1 &lt; 2 \t </p>\n--=-notaboundary\r\n.dot and From here\n"
            + new string('x', 200) + " " + string.Concat(Enumerable.Repeat("é€😀", 40)) + "</body></html>";
        var built = Build(Batch(html) with { Dkim = null }, Recipient(tracking: new TrackingPolicy("off", "off")));
        var raw = built.Body.ToByteArray();
        var message = Parse(built);

        var body = raw.AsSpan(raw.AsSpan().IndexOf("\r\n\r\n"u8) + 4);
        var boundary = message.Body!.ContentType.Boundary;
        var expected = new MultipartAlternative
        {
            new TextPart("plain") { ContentTransferEncoding = ContentEncoding.QuotedPrintable },
            new TextPart("html") { ContentTransferEncoding = ContentEncoding.QuotedPrintable },
        };
        ((TextPart)expected[0]).SetText(Encoding.UTF8, message.TextBody!);
        ((TextPart)expected[1]).SetText(Encoding.UTF8, message.HtmlBody!);
        expected.Boundary = boundary!;
        var written = new MemoryStream();
        expected.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, written, contentOnly: true);

        Encoding.ASCII.GetString(body).Should().Be(Encoding.ASCII.GetString(written.ToArray()));
        // Line ends are text's own: quoted-printable carries them as line breaks, whichever they were.
        message.HtmlBody!.ReplaceLineEndings("\n").Should().Be(html.Replace("{{ name }}", "Ann", StringComparison.Ordinal).ReplaceLineEndings("\n"));
        message.TextBody.Should().Contain("Grüße, Ann = 1 < 2").And.Contain("é€😀é€😀");
        Encoding.ASCII.GetString(body).Split("\r\n").Should().OnlyContain(line => line.Length <= 78, "lines stay within RFC 5322's 78 characters");
    }

    [Fact]
    public void Every_message_gets_its_own_boundary()
    {
        var first = Parse(Build(Batch(), Recipient())).Body!.ContentType.Boundary;
        var second = Parse(Build(Batch(), Recipient())).Body!.ContentType.Boundary;

        first.Should().StartWith("=-").And.NotBe(second);
    }

    [Fact]
    public void Attachments_arrive_byte_identical_with_a_type_from_their_name()
    {
        var pdf = RandomNumberGenerator.GetBytes(5000);
        var csv = Encoding.UTF8.GetBytes("a,b\r\n1,2\r\n");
        var batch = Batch() with { Attachments = [new EnvelopeAttachment("report.pdf", pdf), new EnvelopeAttachment("data.csv", csv)] };

        var message = Parse(Build(batch, Recipient()));

        message.Body!.ContentType.MimeType.Should().Be("multipart/mixed");
        var attachments = message.Attachments.OfType<MimePart>().ToList();
        attachments.Select(a => (a.FileName, a.ContentType.MimeType, a.ContentTransferEncoding))
            .Should().Equal(("report.pdf", "application/pdf", ContentEncoding.Base64), ("data.csv", "text/csv", ContentEncoding.Base64));
        Content(attachments[0]).Should().Equal(pdf);
        Content(attachments[1]).Should().Equal(csv);
        message.HtmlBody!.Should().Contain("Dear Ann");
        DkimVerifies(message).Should().BeTrue();
    }

    [Fact]
    public void An_international_recipient_survives_and_the_signature_still_verifies()
    {
        var envelope = Build(Batch(), Recipient("josé@exämple.com"));
        var message = Parse(envelope);

        envelope.To.Should().Be("josé@exämple.com");
        message.To.Mailboxes.Single().Address.Should().Be("josé@exämple.com");
        ReturnPaths.TryVerify(envelope.ReturnPath, out var recipient, out _).Should().BeTrue();
        recipient.Should().Be("josé@exämple.com");
        DkimVerifies(message).Should().BeTrue();
    }

    [Fact]
    public void A_field_with_a_line_break_cannot_add_a_header_through_the_subject()
    {
        var recipient = Recipient() with { Fields = new Dictionary<string, string> { ["name"] = "Ann\r\nBcc: victim@example.net" } };

        var message = Parse(Build(Batch(), recipient));

        message.Headers.Contains(HeaderId.Bcc).Should().BeFalse();
        message.Subject.Should().Be("Hello Ann Bcc: victim@example.net");
    }

    [Fact]
    public void A_template_that_does_not_parse_fails_the_build_naming_the_batch_not_the_recipient()
    {
        var build = () => Build(Batch("{% if %}"), Recipient());

        var error = build.Should().Throw<EnvelopeException>().WithInnerException<TemplateException>().And;
        build.Should().Throw<EnvelopeException>().Which.Message.Should().Contain("msg_abc@example.com")
            .And.NotContain("ann@example.org").And.NotContain(EnvelopeIds.Base64Url("ann@example.org"));
        error.TemplateId.Should().Be("template_abc@example.com");
    }

    private static string Signature(MimeMessage message) => message.Headers[HeaderId.DkimSignature]!;

    private static string SignedHeaderNames(MimeMessage message) =>
        Regex.Replace(Regex.Match(Signature(message), "h=([^;]*)").Groups[1].Value, @"\s", "");

    private static byte[] Content(MimePart part)
    {
        using var stream = new MemoryStream();
        part.Content!.DecodeTo(stream);
        return stream.ToArray();
    }

    private sealed class StaticKeyLocator : IDkimPublicKeyLocator
    {
        private static readonly AsymmetricKeyParameter Key = PublicKeyFactory.CreateKey(DkimKey.ExportSubjectPublicKeyInfo());

        public AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            domain == "example.com" && selector == "kannon" ? Key : throw new InvalidOperationException($"no key for {selector}._domainkey.{domain}");

        public Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            Task.FromResult(LocatePublicKey(methods, domain, selector, cancellationToken));
    }
}
