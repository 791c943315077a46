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
        SecurityKey = new SymmetricSecurityKey(secret) { KeyId = id };
        Credentials = new SigningCredentials(SecurityKey, Algorithm);
    }

    /// <summary>The token's <c>kid</c>.</summary>
    public string Id { get; }

    public DateTimeOffset CreatedAt { get; }

    /// <summary>After this no token signed with the key verifies.</summary>
    public DateTimeOffset ExpiresAt { get; }

    public SymmetricSecurityKey SecurityKey { get; }

    public SigningCredentials Credentials { get; }
}
