using FluentAssertions;
using Kannon.Envelopes;
using Microsoft.Extensions.Options;
using Xunit;

namespace Kannon.Tests.Envelopes;

public sealed class ReturnPathSignerTests
{
    private const string Secret = "return-path-signer-tests-secret-0123456789";
    private const string BatchId = "msg_abc123@example.com";

    private static ReturnPathSigner Signer(string secret, params string[] previous) =>
        new(Options.Create(new BounceOptions { Secret = secret, PreviousSecrets = [.. previous] }));

    [Fact]
    public void A_signed_return_path_verifies_and_names_its_recipient_and_batch()
    {
        var returnPath = Signer(Secret).ReturnPath("ann+tag@example.org", BatchId);

        Signer(Secret).TryVerify(returnPath, out var recipient, out var batchId).Should().BeTrue();
        recipient.Should().Be("ann+tag@example.org");
        batchId.Should().Be(BatchId);
        returnPath.Should().StartWith("bump_").And.EndWith("+" + BatchId);
    }

    [Fact]
    public void An_altered_mac_does_not_verify()
    {
        var returnPath = Signer(Secret).ReturnPath("ann@example.org", BatchId);
        var dot = returnPath.LastIndexOf('.', returnPath.IndexOf('+', StringComparison.Ordinal));
        var flipped = returnPath[dot + 1] == 'A' ? 'B' : 'A';
        var altered = returnPath[..(dot + 1)] + flipped + returnPath[(dot + 2)..];

        Signer(Secret).TryVerify(altered, out _, out _).Should().BeFalse();
    }

    [Fact]
    public void A_mac_made_for_another_recipient_or_batch_does_not_verify()
    {
        var signer = Signer(Secret);
        EnvelopeIds.TryParseReturnPath(signer.ReturnPath("ann@example.org", BatchId), out _, out _, out var mac).Should().BeTrue();

        signer.TryVerify(EnvelopeIds.ReturnPath("victim@example.org", BatchId, mac), out _, out _).Should().BeFalse();
        signer.TryVerify(EnvelopeIds.ReturnPath("ann@example.org", "msg_other@example.com", mac), out _, out _).Should().BeFalse();
    }

    [Fact]
    public void An_unsigned_return_path_of_the_original_format_does_not_verify()
    {
        var unsigned = $"bump_{EnvelopeIds.Base64Url("ann@example.org")}+{BatchId}";

        EnvelopeIds.TryParseReturnPath(unsigned, out var recipient, out _, out var mac).Should().BeTrue("it is still a return path: accepted at RCPT, ignored after DATA");
        (recipient, mac).Should().Be(("ann@example.org", ""));
        Signer(Secret).TryVerify(unsigned, out _, out _).Should().BeFalse();
    }

    [Fact]
    public void A_previous_secret_still_verifies_after_rotation_and_another_secret_does_not()
    {
        const string rotated = "the-new-bounce-secret-after-rotation-0123456";
        var old = Signer(Secret).ReturnPath("ann@example.org", BatchId);

        Signer(rotated, Secret).TryVerify(old, out _, out _).Should().BeTrue();
        Signer(rotated).TryVerify(old, out _, out _).Should().BeFalse();
    }

    [Theory]
    [InlineData("", "bounce.secret: required")]
    [InlineData("too-short-secret", "bounce.secret: 16 characters is too short")]
    public void A_missing_or_short_secret_is_refused_naming_the_key(string secret, string problem)
    {
        new BounceOptions { Secret = secret }.Validate().Should().ContainSingle().Which.Should().StartWith(problem);
        new BounceOptions { Secret = Secret }.Validate().Should().BeEmpty();
        new BounceOptions { Secret = Secret, PreviousSecrets = ["short"] }.Validate().Should().ContainSingle()
            .Which.Should().StartWith("bounce.previous_secrets:0");
    }
}
