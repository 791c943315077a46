using Microsoft.IdentityModel.Tokens;

namespace Kannon.Tracking;

/// <summary>One <c>stats_keys</c> row, ready to sign and verify: HS256 over 32 random bytes.</summary>
internal sealed class TrackingKey
{
    public const string Algorithm = SecurityAlgorithms.HmacSha256;

    public TrackingKey(string id, byte[] secret, DateTimeOffset createdAt, DateTimeOffset expiresAt)
    {
        Id = id;
        CreatedAt = createdAt;
        ExpiresAt = expiresAt;
        Secret = secret;
        SecurityKey = new SymmetricSecurityKey(secret) { KeyId = id };
    }

    /// <summary>The token's <c>kid</c>.</summary>
    public string Id { get; }

    public DateTimeOffset CreatedAt { get; }

    /// <summary>After this no token signed with the key verifies.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The HMAC-SHA256 key: 32 bytes.</summary>
    public byte[] Secret { get; }

    /// <summary>Verifies tokens issued as JWTs before compact tokens (ADR 0017).</summary>
    public SymmetricSecurityKey SecurityKey { get; }
}
