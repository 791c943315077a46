using System.Security.Cryptography;
using Kannon.Tracking;
using Npgsql;

namespace Kannon.Tests.Tracking;

/// <summary>A tracking key stored in <c>stats_keys</c> (so the Tracker verifies with it) and token makers over it at any clock.</summary>
internal sealed class TestTrackingKeys
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromDays(90);

    private readonly TrackingKey _key;

    private TestTrackingKeys(TrackingKey key) => _key = key;

    public static async Task<TestTrackingKeys> CreateAsync(NpgsqlDataSource database)
    {
        var now = DateTimeOffset.UtcNow;
        var secret = RandomNumberGenerator.GetBytes(32);
        var key = new TrackingKey("key_test" + Guid.NewGuid().ToString("N")[..16], secret, now.AddDays(-200), now.AddDays(200));
        await using var insert = database.CreateCommand(
            "INSERT INTO stats_keys (id, algorithm, secret, creation_time, expiration_time) VALUES ($1, 'HS256', $2, $3, $4)");
        insert.Parameters.AddWithValue(key.Id);
        insert.Parameters.AddWithValue(Convert.ToBase64String(secret));
        insert.Parameters.AddWithValue(key.CreatedAt);
        insert.Parameters.AddWithValue(key.ExpiresAt);
        await insert.ExecuteNonQueryAsync();
        return new TestTrackingKeys(key);
    }

    /// <summary>Tokens signed now (valid for 90 days).</summary>
    public TrackingTokens Now => At(DateTimeOffset.UtcNow);

    /// <summary>Tokens signed at <paramref name="signedAt"/>: 100 days ago makes tokens that expired 10 days ago.</summary>
    public TrackingTokens At(DateTimeOffset signedAt)
    {
        var clock = new Infrastructure.ManualClock(signedAt);
        return new TrackingTokens(new TrackingKeyRing([_key], Lifetime, clock), clock);
    }

    /// <summary>Tokens of a key the Tracker has never seen (same kid, another secret): forgeries.</summary>
    public TrackingTokens Forger()
    {
        var clock = TimeProvider.System;
        var forged = new TrackingKey(_key.Id, RandomNumberGenerator.GetBytes(32), _key.CreatedAt, _key.ExpiresAt);
        return new TrackingTokens(new TrackingKeyRing([forged], Lifetime, clock), clock);
    }
}
