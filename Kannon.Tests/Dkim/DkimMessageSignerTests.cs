using System.Security.Cryptography;
using System.Text;
using FluentAssertions;
using Kannon.Dkim;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Security;
using Xunit;

namespace Kannon.Tests.Dkim;

/// <summary>Our one-pass signer, checked by an independent verifier (MimeKit's) on bodies and headers that canonicalization must get right.</summary>
public sealed class DkimMessageSignerTests
{
    private static readonly RSA Key = RSA.Create(2048);
    private static readonly DkimMessageSigner Signer = DkimMessageSigner.Create(new DkimMaterial("example.com", "kannon", Convert.ToBase64String(Key.ExportRSAPrivateKey())));
    private static readonly string[] Signed = ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "List-Unsubscribe"];

    private const string Headers =
        "From: \"News  Team\" <news@example.com>\r\n" +
        "To: ann@example.org\r\n" +
        "Subject:   A  subject\r\n\t folded\t over lines   \r\n" +
        "Date: Tue, 01 Dec 2026 21:00:00 +0000\r\n" +
        "Message-ID: <1@example.com>\r\n" +
        "MIME-Version: 1.0\r\n" +
        "Content-Type: text/plain; charset=utf-8\r\n";

    public static TheoryData<string> Bodies => new()
    {
        "Hello\r\n",
        "Hello   world \t \r\nsecond\tline\r\n",
        "Trailing empty lines\r\n\r\n\r\n   \r\n\r\n",
        "No final line break",
        "Inner\r\n\r\n\r\nempty lines\r\n",
        "",
        "\r\n\r\n",
        " leading space\r\n\tand tab\r\n",
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public void A_signed_message_verifies(string body)
    {
        var message = Load(Signer.Sign(Encoding.UTF8.GetBytes(Headers + "\r\n" + body), Signed, DateTimeOffset.UtcNow));

        Verifies(message).Should().BeTrue();
    }

    [Fact]
    public void Only_present_headers_are_listed_and_the_signature_is_first()
    {
        var signed = Encoding.ASCII.GetString(Signer.Sign(Encoding.ASCII.GetBytes(Headers + "\r\nHi\r\n"), Signed, DateTimeOffset.UtcNow));

        signed.Should().StartWith("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com;");
        var message = Load(Encoding.ASCII.GetBytes(signed));
        var tags = message.Headers[HeaderId.DkimSignature]!.Replace("\r\n", "").Replace("\t", " ");
        tags.Should().Contain("s=kannon;").And.Contain("h=from:to:subject:date:message-id:mime-version:content-type;");
        var field = signed.Split("\r\n").TakeWhile(line => !line.StartsWith("From:", StringComparison.Ordinal)).ToList();
        field.Should().OnlyContain(line => line.Length <= 78 && !line.EndsWith(' '));
    }

    [Fact]
    public void A_changed_body_or_signed_header_fails_but_an_unsigned_header_does_not()
    {
        var signed = Encoding.ASCII.GetString(Signer.Sign(Encoding.ASCII.GetBytes(Headers + "X-Extra: 1\r\n\r\nHi\r\n"), Signed, DateTimeOffset.UtcNow));

        Verifies(Load(Encoding.ASCII.GetBytes(WithBody(signed, "Ho\r\n")))).Should().BeFalse();
        Verifies(Load(Encoding.ASCII.GetBytes(signed.Replace("To: ann@", "To: bob@")))).Should().BeFalse();
        Verifies(Load(Encoding.ASCII.GetBytes(signed.Replace("X-Extra: 1", "X-Extra: 2")))).Should().BeTrue();
        Verifies(Load(Encoding.ASCII.GetBytes(WithBody(signed, "Hi  \r\n\r\n")))).Should().BeTrue("relaxed canonicalization ignores trailing white space and empty lines");
    }

    [Fact]
    public void The_bottom_most_instance_of_a_repeated_header_is_signed_and_a_long_domain_folds_the_field()
    {
        var domain = "mail." + new string('d', 50) + ".example.com";
        var selector = "selector-" + new string('s', 40);
        var signer = DkimMessageSigner.Create(new DkimMaterial(domain, selector, Convert.ToBase64String(Key.ExportRSAPrivateKey())));
        var text = Headers + "Subject: the second subject\r\n\r\nHi\r\n";
        var signed = Encoding.ASCII.GetString(signer.Sign(Encoding.ASCII.GetBytes(text), Signed, DateTimeOffset.UtcNow));

        var field = signed.Split("\r\n").TakeWhile(line => !line.StartsWith("From:", StringComparison.Ordinal)).ToList();
        field.Should().OnlyContain(line => line.Length <= 78 && !line.EndsWith(' '));
        var verifier = new DkimVerifier(new KeyLocator(domain, selector));
        var message = Load(Encoding.ASCII.GetBytes(signed));
        verifier.Verify(message, message.Headers[message.Headers.IndexOf(HeaderId.DkimSignature)]).Should().BeTrue();
        var changedFirst = Load(Encoding.ASCII.GetBytes(signed.Replace("A  subject", "Another subject")));
        verifier.Verify(changedFirst, changedFirst.Headers[changedFirst.Headers.IndexOf(HeaderId.DkimSignature)]).Should().BeTrue("only the bottom-most Subject is signed");
        var changedLast = Load(Encoding.ASCII.GetBytes(signed.Replace("the second subject", "a third subject")));
        verifier.Verify(changedLast, changedLast.Headers[changedLast.Headers.IndexOf(HeaderId.DkimSignature)]).Should().BeFalse();
    }

    [Fact]
    public void Signed_headers_larger_than_the_buffers_a_thread_keeps_sign_and_verify_and_so_does_the_next_message()
    {
        // A To of 4,000 addresses (~100 KB): the signer's per-thread buffers grow past what it keeps, and let go of them.
        var to = string.Join(",\r\n ", Enumerable.Range(0, 4_000).Select(i => $"reader{i}@example.org"));
        var huge = Headers.Replace("To: ann@example.org", "To: " + to, StringComparison.Ordinal);

        var first = Load(Signer.Sign(Encoding.ASCII.GetBytes(huge + "\r\nHi\r\n"), Signed, DateTimeOffset.UtcNow));
        var next = Load(Signer.Sign(Encoding.ASCII.GetBytes(Headers + "\r\nHi\r\n"), Signed, DateTimeOffset.UtcNow));

        first.To.Count.Should().Be(4_000);
        Verifies(first).Should().BeTrue();
        Verifies(next).Should().BeTrue();
    }

    [Fact]
    public void A_key_larger_than_4096_bits_signs_and_verifies()
    {
        using var large = RSA.Create(6144);
        var signer = DkimMessageSigner.Create(new DkimMaterial("example.com", "large", Convert.ToBase64String(large.ExportRSAPrivateKey())));

        var message = Load(signer.Sign(Encoding.ASCII.GetBytes(Headers + "\r\nHi\r\n"), Signed, DateTimeOffset.UtcNow));

        new DkimVerifier(new KeyLocator("example.com", "large", large)).Verify(message, message.Headers[message.Headers.IndexOf(HeaderId.DkimSignature)])
            .Should().BeTrue();
    }

    [Fact]
    public void A_key_that_is_not_pkcs1_is_refused()
    {
        var create = () => DkimMessageSigner.Create(new DkimMaterial("example.com", "kannon", "bm90IGEga2V5"));

        create.Should().Throw<FormatException>().WithMessage("*kannon._domainkey.example.com*");
    }

    private static MimeMessage Load(byte[] bytes) => MimeMessage.Load(new MemoryStream(bytes));

    // The body replaced, never the header block: a Replace over the whole message also hit the signature whenever a
    // folded line of its base64 happened to end in the text replaced (about one run in a thousand).
    private static string WithBody(string message, string body) => message[..(message.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)] + body;

    private static bool Verifies(MimeMessage message) =>
        new DkimVerifier(new KeyLocator("example.com", "kannon")).Verify(message, message.Headers[message.Headers.IndexOf(HeaderId.DkimSignature)]);

    private sealed class KeyLocator(string knownDomain, string knownSelector, RSA? key = null) : IDkimPublicKeyLocator
    {
        private readonly AsymmetricKeyParameter _public = PublicKeyFactory.CreateKey((key ?? Key).ExportSubjectPublicKeyInfo());

        public AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            domain == knownDomain && selector == knownSelector ? _public : throw new InvalidOperationException("unknown key");

        public Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            Task.FromResult(LocatePublicKey(methods, domain, selector, cancellationToken));
    }
}
