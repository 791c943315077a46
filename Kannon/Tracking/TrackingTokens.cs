using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Kannon.Tracking;

/// <summary>
/// Signed tracking tokens (ADR 0017): base64url of a compact binary body followed by its MAC.
/// <code>
/// version (1) | channel (1) | exp, unix seconds, big-endian (4) | kid length (1) | kid
///   | Batch id length, big-endian (2) | Batch id | email length (2) | email | url (the rest)
///   | HMAC-SHA256(stats_keys secret named by kid, all of the above), first 16 bytes
/// </code>
/// Strings are UTF-8; url is empty except for links. A message carries one token per link, so a token is
/// made in about a microsecond and is a third shorter than the JWT it replaces (HS256 with claims
/// <c>message_id</c>, <c>email</c>, <c>url</c>, <c>aud</c>, <c>iat</c>, <c>exp</c>). JWTs issued before
/// still verify until they expire: a token with dots is read as one.
/// </summary>
internal sealed class TrackingTokens(TrackingKeyRing keys, TimeProvider time)
{
    // The longest token we bother to parse; a link token carries its URL, so allow long URLs.
    private const int MaxTokenLength = 16 * 1024;

    private const byte Version = 1;

    private const int MacLength = 16;

    private const byte LinkChannel = 2;

    // version, channel, exp, kid length
    private const int HeaderLength = 7;

    private const string ClaimUrl = "url";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public string CreateOpen(string batchId, string email) => Create(TrackingAudience.Open, batchId, email, null);

    public string CreateLink(string batchId, string email, string url) => Create(TrackingAudience.Link, batchId, email, url);

    /// <summary>The link token <see cref="CreateLink"/> makes, appended to <paramref name="output"/> without a string of its own.</summary>
    public void AppendLink(StringBuilder output, string batchId, string email, string url) => Create(TrackingAudience.Link, batchId, email, url, output);

    public string CreateUnsubscribe(string batchId, string email) => Create(TrackingAudience.Unsubscribe, batchId, email, null);

    /// <summary>
    /// The token's claims when it is well formed, signed by a known unexpired key, unexpired, and bound to
    /// <paramref name="audience"/>; null for anything else (never throws for bad input).
    /// </summary>
    public async ValueTask<TrackingClaims?> VerifyAsync(string? token, string audience, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength || Channel(audience) is not { } channel)
        {
            return null;
        }

        if (token.Contains('.', StringComparison.Ordinal))
        {
            return await VerifyJwtAsync(token, audience, cancellationToken).ConfigureAwait(false);
        }

        if (Decode(token) is not { } body || Read(body) is not { } fields || fields.Channel != channel)
        {
            return null;
        }

        if (await keys.FindAsync(fields.Kid, cancellationToken).ConfigureAwait(false) is not { } key || !MacMatches(key, body))
        {
            return null;
        }

        var expires = DateTimeOffset.FromUnixTimeSeconds(fields.Expires);
        if (expires <= time.GetUtcNow())
        {
            return null;
        }

        try
        {
            var batchId = StrictUtf8.GetString(body.AsSpan(fields.BatchId.Start, fields.BatchId.Length));
            var email = StrictUtf8.GetString(body.AsSpan(fields.Email.Start, fields.Email.Length));
            var url = fields.Url.Length == 0 ? null : StrictUtf8.GetString(body.AsSpan(fields.Url.Start, fields.Url.Length));
            if (batchId.Length == 0 || email.Length == 0 || (url is null) == (channel == LinkChannel))
            {
                return null;
            }

            return new TrackingClaims(batchId, email, audience, url, expires);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    private static byte? Channel(string audience) => audience switch
    {
        TrackingAudience.Open => 1,
        TrackingAudience.Link => LinkChannel,
        TrackingAudience.Unsubscribe => 3,
        _ => null,
    };

    private string Create(string audience, string batchId, string email, string? url) => Create(audience, batchId, email, url, null)!;

    /// <summary>The token, appended to <paramref name="output"/> when there is one (and null returned), else returned.</summary>
    private string? Create(string audience, string batchId, string email, string? url, StringBuilder? output)
    {
        var key = keys.SigningKey;
        var expires = (time.GetUtcNow() + keys.TokenLifetime).ToUnixTimeSeconds();
        if (expires is < 0 or > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(audience), "a token's expiry must fit in 32 bits of unix seconds");
        }

        var kidLength = Encoding.UTF8.GetByteCount(key.Id);
        var batchLength = Encoding.UTF8.GetByteCount(batchId);
        var emailLength = Encoding.UTF8.GetByteCount(email);
        var urlLength = url is null ? 0 : Encoding.UTF8.GetByteCount(url);
        if (kidLength > byte.MaxValue || batchLength > ushort.MaxValue || emailLength > ushort.MaxValue)
        {
            throw new ArgumentException("a tracking token's key id, Batch id or address is too long");
        }

        var length = HeaderLength + kidLength + 2 + batchLength + 2 + emailLength + urlLength + MacLength;
        var rented = length > 1024 ? ArrayPool<byte>.Shared.Rent(length) : null;
        try
        {
            var body = rented is null ? stackalloc byte[length] : rented.AsSpan(0, length);
            body[0] = Version;
            body[1] = Channel(audience)!.Value;
            BinaryPrimitives.WriteUInt32BigEndian(body[2..], (uint)expires);
            body[6] = (byte)kidLength;
            var at = HeaderLength + Encoding.UTF8.GetBytes(key.Id, body[HeaderLength..]);
            at = WriteString(body, at, batchId, batchLength);
            at = WriteString(body, at, email, emailLength);
            if (url is not null)
            {
                at += Encoding.UTF8.GetBytes(url, body[at..]);
            }

            Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
            HMACSHA256.HashData(key.Secret, body[..at], mac);
            mac[..MacLength].CopyTo(body[at..]);
            if (output is null)
            {
                return Base64Url.EncodeToString(body);
            }

            var charCount = Base64Url.GetEncodedLength(body.Length);
            var chars = charCount > 2048 ? new char[charCount] : stackalloc char[charCount];
            Base64Url.EncodeToChars(body, chars);
            output.Append(chars);
            return null;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static int WriteString(Span<byte> body, int at, string value, int byteCount)
    {
        BinaryPrimitives.WriteUInt16BigEndian(body[at..], (ushort)byteCount);
        return at + 2 + Encoding.UTF8.GetBytes(value, body[(at + 2)..]);
    }

    // Only the canonical encoding of a body: no padding, no other spelling of the same bytes.
    private static byte[]? Decode(string token)
    {
        try
        {
            var body = Base64Url.DecodeFromChars(token);
            return body.Length >= HeaderLength + 4 + MacLength && Base64Url.EncodeToString(body) == token ? body : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private readonly record struct Fields(byte Channel, uint Expires, string Kid, Range BatchId, Range Email, Range Url);

    private readonly record struct Range(int Start, int Length);

    /// <summary>The body's fields when its lengths are consistent; null otherwise. Nothing here is trusted until the MAC matches.</summary>
    private static Fields? Read(byte[] body)
    {
        var end = body.Length - MacLength;
        if (body[0] != Version)
        {
            return null;
        }

        var kidLength = body[6];
        var at = HeaderLength + kidLength;
        if (kidLength == 0 || at + 2 > end || !System.Text.Ascii.IsValid(body.AsSpan(HeaderLength, kidLength)))
        {
            return null;
        }

        var kid = Encoding.ASCII.GetString(body, HeaderLength, kidLength);
        if (ReadString(body, ref at, end) is not { } batchId || ReadString(body, ref at, end) is not { } email)
        {
            return null;
        }

        return new Fields(body[1], BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(2)), kid, batchId, email, new Range(at, end - at));
    }

    private static Range? ReadString(byte[] body, ref int at, int end)
    {
        if (at + 2 > end)
        {
            return null;
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(at));
        var start = at + 2;
        if (start + length > end)
        {
            return null;
        }

        at = start + length;
        return new Range(start, length);
    }

    private static bool MacMatches(TrackingKey key, byte[] body)
    {
        var signed = body.AsSpan(0, body.Length - MacLength);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key.Secret, signed, mac);
        return CryptographicOperations.FixedTimeEquals(mac[..MacLength], body.AsSpan(body.Length - MacLength));
    }

    /// <summary>A JWT issued before compact tokens: HS256, <c>kid</c>, claims as described above.</summary>
    private async ValueTask<TrackingClaims?> VerifyJwtAsync(string token, string audience, CancellationToken cancellationToken)
    {
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

}
