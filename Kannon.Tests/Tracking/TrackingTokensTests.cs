using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Kannon.Tests.Infrastructure;
using Kannon.Tracking;

namespace Kannon.Tests.Tracking;

public sealed class TrackingTokensTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lifetime = TimeSpan.FromDays(90);

    private readonly ManualClock _clock = new(T0);
    private readonly TrackingKey _key = Key("key_a");

    private static TrackingKey Key(string id) =>
        new(id, RandomNumberGenerator.GetBytes(32), T0, T0 + (2 * Lifetime));

    private TrackingTokens Tokens(params TrackingKey[] keys) => new(new TrackingKeyRing(keys, Lifetime, _clock), _clock);

    [Fact]
    public async Task An_open_token_round_trips()
    {
        var tokens = Tokens(_key);

        var claims = await tokens.VerifyAsync(tokens.CreateOpen("msg_1@example.com", "ann@example.org"), TrackingAudience.Open, default);

        claims.Should().BeEquivalentTo(new TrackingClaims("msg_1@example.com", "ann@example.org", TrackingAudience.Open, null, T0 + Lifetime));
    }

    [Fact]
    public void A_link_token_appended_to_a_builder_is_the_token_created_as_a_string()
    {
        var tokens = Tokens(_key);
        var url = "https://example.com/" + new string('a', 3000); // past the stack buffer too

        foreach (var link in new[] { "https://example.com/a?b=1", url })
        {
            var output = new StringBuilder("before/");
            tokens.AppendLink(output, "msg_1@example.com", "ann@example.org", link);

            output.ToString().Should().Be("before/" + tokens.CreateLink("msg_1@example.com", "ann@example.org", link));
        }
    }

    [Fact]
    public async Task A_link_token_round_trips_with_its_url()
    {
        var tokens = Tokens(_key);
        const string url = "https://example.com/a?b=1&c=<d>#e";

        var claims = await tokens.VerifyAsync(tokens.CreateLink("msg_1@example.com", "ann@example.org", url), TrackingAudience.Link, default);

        claims!.Url.Should().Be(url);
        claims.Email.Should().Be("ann@example.org");
    }

    [Fact]
    public async Task An_unsubscribe_token_round_trips()
    {
        var tokens = Tokens(_key);

        var claims = await tokens.VerifyAsync(tokens.CreateUnsubscribe("msg_1@example.com", "ann@example.org"), TrackingAudience.Unsubscribe, default);

        claims!.BatchId.Should().Be("msg_1@example.com");
    }

    [Fact]
    public void A_token_is_url_safe_names_its_key_and_is_shorter_than_the_jwt_it_replaces()
    {
        const string url = "https://example.com/articles/42?utm_source=news";
        var token = Tokens(_key).CreateLink("msg_1@example.com", "ann@example.org", url);

        token.Should().MatchRegex("^[A-Za-z0-9_-]+$");
        var body = Base64Url.DecodeFromChars(token);
        body[0].Should().Be(1, "the format's version");
        Encoding.ASCII.GetString(body).Should().Contain("key_a").And.Contain(url);
        token.Length.Should().BeLessThan(Jwt(_key, TrackingAudience.Link, url).Length * 3 / 4);
    }

    [Fact]
    public async Task A_jwt_issued_before_compact_tokens_still_verifies_on_its_channel_only()
    {
        var tokens = Tokens(_key);
        var jwt = Jwt(_key, TrackingAudience.Link, "https://example.com/old");

        var claims = await tokens.VerifyAsync(jwt, TrackingAudience.Link, default);

        claims.Should().BeEquivalentTo(new TrackingClaims("msg_1@example.com", "ann@example.org", TrackingAudience.Link, "https://example.com/old", T0 + Lifetime));
        (await tokens.VerifyAsync(jwt, TrackingAudience.Open, default)).Should().BeNull();
        (await Tokens(Key("key_a")).VerifyAsync(jwt, TrackingAudience.Link, default)).Should().BeNull("another secret under the same kid");
    }

    [Fact]
    public async Task A_tampered_token_is_refused()
    {
        var tokens = Tokens(_key);
        var body = Base64Url.DecodeFromChars(tokens.CreateLink("msg_1@example.com", "ann@example.org", "https://example.com/"));

        for (var i = 0; i < body.Length; i++)
        {
            var flipped = (byte[])body.Clone();
            flipped[i] ^= 0x01;
            (await tokens.VerifyAsync(Base64Url.EncodeToString(flipped), TrackingAudience.Link, default)).Should().BeNull($"byte {i} was changed");
        }

        // The same MAC after another destination: an open redirect if it verified.
        var text = Encoding.ASCII.GetString(body);
        var redirected = Encoding.ASCII.GetBytes(text.Replace("https://example.com/", "https://evil.example", StringComparison.Ordinal));
        (await tokens.VerifyAsync(Base64Url.EncodeToString(redirected), TrackingAudience.Link, default)).Should().BeNull();
    }

    [Fact]
    public async Task A_truncated_or_extended_token_is_refused()
    {
        var tokens = Tokens(_key);
        var token = tokens.CreateLink("msg_1@example.com", "ann@example.org", "https://example.com/");

        for (var length = 0; length < token.Length; length++)
        {
            (await tokens.VerifyAsync(token[..length], TrackingAudience.Link, default)).Should().BeNull($"cut to {length} characters");
        }

        (await tokens.VerifyAsync(token + "A", TrackingAudience.Link, default)).Should().BeNull();
        (await tokens.VerifyAsync(token + "==", TrackingAudience.Link, default)).Should().BeNull("only the canonical spelling verifies");
    }

    [Fact]
    public async Task An_expired_token_is_refused()
    {
        var tokens = Tokens(_key);
        var token = tokens.CreateOpen("msg_1@example.com", "ann@example.org");

        _clock.Advance(Lifetime - TimeSpan.FromSeconds(1));
        (await tokens.VerifyAsync(token, TrackingAudience.Open, default)).Should().NotBeNull();
        _clock.Advance(TimeSpan.FromSeconds(2));
        (await tokens.VerifyAsync(token, TrackingAudience.Open, default)).Should().BeNull();
    }

    [Fact]
    public async Task A_token_signed_by_an_unknown_key_is_refused()
    {
        var token = Tokens(Key("key_gone")).CreateOpen("msg_1@example.com", "ann@example.org");

        (await Tokens(_key).VerifyAsync(token, TrackingAudience.Open, default)).Should().BeNull();
    }

    [Fact]
    public async Task A_token_whose_key_has_expired_is_refused()
    {
        var shortLived = new TrackingKey("key_short", RandomNumberGenerator.GetBytes(32), T0, T0 + Lifetime + TimeSpan.FromHours(1));
        var tokens = Tokens(shortLived);
        var token = tokens.CreateOpen("msg_1@example.com", "ann@example.org");

        // Past the key's end while a (forged) later exp would still hold.
        _clock.Advance(Lifetime + TimeSpan.FromHours(2));
        (await tokens.VerifyAsync(token, TrackingAudience.Open, default)).Should().BeNull();
    }

    [Fact]
    public async Task A_token_with_the_same_kid_but_another_secret_is_refused()
    {
        var impostor = Tokens(Key("key_a")).CreateOpen("msg_1@example.com", "ann@example.org");

        (await Tokens(_key).VerifyAsync(impostor, TrackingAudience.Open, default)).Should().BeNull();
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("a.b.c")]
    [InlineData("eyJhbGciOiJub25lIn0.eyJtZXNzYWdlX2lkIjoieCJ9.")]
    [InlineData("....")]
    [InlineData("%%%.%%%.%%%")]
    [InlineData("AQ")]
    [InlineData("AQEAAAAAAA")]
    [InlineData("AQEAAAAABWtleV9hAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("!!!!")]
    public async Task Garbage_is_refused_without_throwing(string? token)
    {
        (await Tokens(_key).VerifyAsync(token, TrackingAudience.Open, default)).Should().BeNull();
    }

    [Fact]
    public async Task An_unsigned_alg_none_token_is_refused()
    {
        var header = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode("""{"alg":"none","kid":"key_a","typ":"JWT"}""");
        var payload = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(
            $$"""{"message_id":"m@x.com","email":"a@b.c","aud":"stats:open","exp":{{(T0 + Lifetime).ToUnixTimeSeconds()}}}""");

        (await Tokens(_key).VerifyAsync($"{header}.{payload}.", TrackingAudience.Open, default)).Should().BeNull();
    }

    private Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler JwtHandler { get; } = new() { SetDefaultTimesOnTokenCreation = false };

    // A token as Kannon issued them before compact tokens (ADR 0017).
    private string Jwt(TrackingKey key, string audience, string? url) =>
        JwtHandler.CreateToken(
            url is null
                ? $$"""{"message_id":"msg_1@example.com","email":"ann@example.org","aud":"{{audience}}","iat":{{T0.ToUnixTimeSeconds()}},"exp":{{(T0 + Lifetime).ToUnixTimeSeconds()}}}"""
                : $$"""{"message_id":"msg_1@example.com","email":"ann@example.org","url":"{{url}}","aud":"{{audience}}","iat":{{T0.ToUnixTimeSeconds()}},"exp":{{(T0 + Lifetime).ToUnixTimeSeconds()}}}""",
            new Microsoft.IdentityModel.Tokens.SigningCredentials(key.SecurityKey, TrackingKey.Algorithm));

    [Fact]
    public void Signing_without_a_key_that_outlives_a_token_is_an_error()
    {
        var tired = new TrackingKey("key_old", RandomNumberGenerator.GetBytes(32), T0, T0 + TimeSpan.FromDays(10));

        var create = () => Tokens(tired).CreateOpen("msg_1@example.com", "ann@example.org");

        create.Should().Throw<InvalidOperationException>();
    }
}
