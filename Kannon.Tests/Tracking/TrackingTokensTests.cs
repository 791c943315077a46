using System.Security.Cryptography;
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
    public async Task The_token_names_its_key_and_signs_with_hs256()
    {
        var token = Tokens(_key).CreateOpen("msg_1@example.com", "ann@example.org");

        var header = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(token);
        header.Kid.Should().Be("key_a");
        header.Alg.Should().Be("HS256");
        (await Tokens(_key).VerifyAsync(token, TrackingAudience.Open, default)).Should().NotBeNull();
    }

    [Theory]
    [InlineData(TrackingAudience.Link)]
    [InlineData(TrackingAudience.Unsubscribe)]
    public async Task A_token_used_on_another_channel_is_refused(string audience)
    {
        var tokens = Tokens(_key);

        (await tokens.VerifyAsync(tokens.CreateOpen("msg_1@example.com", "ann@example.org"), audience, default)).Should().BeNull();
    }

    [Fact]
    public async Task A_tampered_token_is_refused()
    {
        var tokens = Tokens(_key);
        var token = tokens.CreateLink("msg_1@example.com", "ann@example.org", "https://example.com/");
        var parts = token.Split('.');
        var forgedPayload = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(
            Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(parts[1]).Replace("https://example.com/", "https://evil.example/"));
        var signature = parts[2].ToCharArray();
        signature[5] = signature[5] == 'A' ? 'B' : 'A';

        (await tokens.VerifyAsync($"{parts[0]}.{forgedPayload}.{parts[2]}", TrackingAudience.Link, default)).Should().BeNull();
        (await tokens.VerifyAsync($"{parts[0]}.{parts[1]}.{new string(signature)}", TrackingAudience.Link, default)).Should().BeNull();
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

    [Fact]
    public void Signing_without_a_key_that_outlives_a_token_is_an_error()
    {
        var tired = new TrackingKey("key_old", RandomNumberGenerator.GetBytes(32), T0, T0 + TimeSpan.FromDays(10));

        var create = () => Tokens(tired).CreateOpen("msg_1@example.com", "ann@example.org");

        create.Should().Throw<InvalidOperationException>();
    }
}
