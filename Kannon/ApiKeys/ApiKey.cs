namespace Kannon.ApiKeys;

internal sealed class ApiKey
{
    public required string Id { get; set; }

    public required string Name { get; set; }

    public required string Domain { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? ExpiresAt { get; set; }

    public bool IsActive { get; set; } = true;

    public DateTimeOffset? DeactivatedAt { get; set; }

    /// <summary>Lowercase hex SHA-256 of the whole plaintext key; the plaintext is never stored.</summary>
    public required string KeyHash { get; set; }

    public required string KeyPrefix { get; set; }
}
