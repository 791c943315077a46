using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Kannon.Tracking;

/// <summary>
/// Signed tracking tokens (JWT, HS256, header <c>kid</c> = <c>stats_keys.id</c>): claims <c>message_id</c>
/// (Batch id), <c>email</c>, <c>aud</c> (the channel, <see cref="TrackingAudience"/>), <c>url</c> for links,
/// <c>iat</c> and <c>exp</c>. The original signs RS512 with a 4096-bit key (~4 ms a token); an HMAC costs
/// microseconds, and only Kannon itself ever verifies these tokens.
/// </summary>
internal sealed class TrackingTokens(TrackingKeyRing keys, TimeProvider time)
{
    // The longest token we bother to parse; a link token carries its URL, so allow long URLs.
    private const int MaxTokenLength = 16 * 1024;

    private const string ClaimUrl = "url";

    // The payload is JSON inside base64url, never HTML: no need to escape '&' or '<' in URLs.
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public string CreateOpen(string batchId, string email) => Create(TrackingAudience.Open, batchId, email, null);

    public string CreateLink(string batchId, string email, string url) => Create(TrackingAudience.Link, batchId, email, url);

    public string CreateUnsubscribe(string batchId, string email) => Create(TrackingAudience.Unsubscribe, batchId, email, null);

    /// <summary>
    /// The token's claims when it is well formed, signed by a known unexpired key, unexpired, and bound to
    /// <paramref name="audience"/>; null for anything else (never throws for bad input).
    /// </summary>
    public async ValueTask<TrackingClaims?> VerifyAsync(string? token, string audience, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength)
        {
            return null;
        }

        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(token);
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenException or JsonException or FormatException)
        {
            return null;
        }

        if (string.IsNullOrEmpty(jwt.Kid) || await keys.FindAsync(jwt.Kid, cancellationToken).ConfigureAwait(false) is not { } key)
        {
            return null;
        }

        var result = await Handler.ValidateTokenAsync(jwt, new TokenValidationParameters
        {
            IssuerSigningKey = key.SecurityKey,
            TryAllIssuerSigningKeys = false,
            ValidAlgorithms = [TrackingKey.Algorithm],
            ValidateIssuer = false,
            ValidateAudience = true,
            ValidAudience = audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = TimeSpan.Zero,

            // Our clock, not the machine's, so that expiry is testable.
            LifetimeValidator = (notBefore, expires, _, _) =>
            {
                var now = time.GetUtcNow().UtcDateTime;
                return expires is { } exp && exp > now && (notBefore is null || notBefore <= now);
            },
        }).ConfigureAwait(false);

        if (!result.IsValid)
        {
            return null;
        }

        jwt.TryGetPayloadValue<string>("message_id", out var batchId);
        jwt.TryGetPayloadValue<string>("email", out var email);
        if (string.IsNullOrEmpty(batchId) || string.IsNullOrEmpty(email))
        {
            return null;
        }

        string? url = null;
        if (audience == TrackingAudience.Link && (!jwt.TryGetPayloadValue(ClaimUrl, out url) || string.IsNullOrEmpty(url)))
        {
            return null;
        }

        return new TrackingClaims(batchId, email, audience, url, jwt.ValidTo == DateTime.MinValue
            ? DateTimeOffset.MinValue
            : new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero));
    }

    private string Create(string audience, string batchId, string email, string? url)
    {
        var key = keys.SigningKey;
        var now = time.GetUtcNow();
        var payload = new ArrayBufferWriter<byte>(256 + (url?.Length ?? 0));
        using (var json = new Utf8JsonWriter(payload, JsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("message_id", batchId);
            json.WriteString("email", email);
            if (url is not null)
            {
                json.WriteString(ClaimUrl, url);
            }

            json.WriteString("aud", audience);
            json.WriteNumber("iat", now.ToUnixTimeSeconds());
            json.WriteNumber("exp", (now + keys.TokenLifetime).ToUnixTimeSeconds());
            json.WriteEndObject();
        }

        return Handler.CreateToken(Encoding.UTF8.GetString(payload.WrittenSpan), key.Credentials);
    }
}
