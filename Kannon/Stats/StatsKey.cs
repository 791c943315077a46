namespace Kannon.Stats;

/// <summary>A key that signs and verifies tracking tokens; its id is the token's <c>kid</c>.</summary>
internal sealed class StatsKey
{
    public required string Id { get; set; }

    public string Algorithm { get; set; } = "HS256";

    /// <summary>Base64 of the key bytes.</summary>
    public required string Secret { get; set; }

    public DateTimeOffset CreationTime { get; set; }

    public DateTimeOffset ExpirationTime { get; set; }
}
