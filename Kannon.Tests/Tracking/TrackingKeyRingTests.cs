using System.Security.Cryptography;
using Kannon.Tests.Infrastructure;
using Kannon.Tracking;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Kannon.Tests.Tracking;

public sealed class TrackingKeyRingTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromDays(90);

    private NpgsqlDataSource _dataSource = null!;

    public async Task InitializeAsync() => _dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync("keys"));

    public async Task DisposeAsync() => await _dataSource.DisposeAsync();

    private TrackingKeyRing Ring(TimeProvider? clock = null) => new(_dataSource, Options.Create(new TrackerOptions { TokenLifetime = Lifetime }),
        clock ?? TimeProvider.System, NullLogger<TrackingKeyRing>.Instance);

    [Fact]
    public async Task A_ring_over_an_empty_table_creates_a_256_bit_key_valid_for_two_lifetimes()
    {
        var ring = Ring();

        await ring.EnsureSigningKeyAsync(default);

        var rows = await RowsAsync();
        rows.Should().ContainSingle();
        var (id, algorithm, secret, expires) = rows[0];
        id.Should().StartWith("key_").And.Be(ring.SigningKey.Id);
        algorithm.Should().Be("HS256");
        Convert.FromBase64String(secret).Should().HaveCount(32);
        expires.Should().BeCloseTo(DateTimeOffset.UtcNow + (2 * Lifetime), TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task Two_rings_racing_on_an_empty_table_create_one_key_and_share_it()
    {
        var rings = Enumerable.Range(0, 4).Select(_ => Ring()).ToList();

        await Task.WhenAll(rings.Select(r => r.EnsureSigningKeyAsync(default).AsTask()));

        (await RowsAsync()).Should().ContainSingle();
        rings.Select(r => r.SigningKey.Id).Distinct().Should().ContainSingle();
    }

    [Fact]
    public async Task A_second_ensure_reuses_the_key()
    {
        await Ring().EnsureSigningKeyAsync(default);
        var again = Ring();

        await again.EnsureSigningKeyAsync(default);
        await again.EnsureSigningKeyAsync(default);

        (await RowsAsync()).Should().ContainSingle().Which.Id.Should().Be(again.SigningKey.Id);
    }

    [Fact]
    public async Task A_key_with_less_than_a_lifetime_left_verifies_but_no_longer_signs()
    {
        var old = await InsertAsync("key_old", DateTimeOffset.UtcNow + (Lifetime / 2));
        var ring = Ring();

        await ring.EnsureSigningKeyAsync(default);

        ring.SigningKey.Id.Should().NotBe("key_old");
        (await RowsAsync()).Should().HaveCount(2);
        (await ring.FindAsync("key_old", default)).Should().NotBeNull();
        var token = new TrackingTokens(new TrackingKeyRing([old], TimeSpan.FromDays(1), TimeProvider.System), TimeProvider.System)
            .CreateOpen("msg_1@example.com", "ann@example.org");
        (await new TrackingTokens(ring, TimeProvider.System).VerifyAsync(token, TrackingAudience.Open, default)).Should().NotBeNull();
    }

    [Fact]
    public async Task An_expired_key_is_neither_loaded_nor_found()
    {
        await InsertAsync("key_dead", DateTimeOffset.UtcNow - TimeSpan.FromMinutes(1));
        var ring = Ring();

        await ring.EnsureSigningKeyAsync(default);

        ring.SigningKey.Id.Should().NotBe("key_dead");
        (await ring.FindAsync("key_dead", default)).Should().BeNull();
    }

    [Fact]
    public async Task A_tracker_ring_finds_a_key_created_after_it_loaded_reloading_at_most_every_few_seconds()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var tracker = Ring(clock);
        await tracker.EnsureSigningKeyAsync(default);
        (await tracker.FindAsync("key_new", default)).Should().BeNull();

        var fresh = await InsertAsync("key_new", DateTimeOffset.UtcNow + (2 * Lifetime));
        var token = new TrackingTokens(new TrackingKeyRing([fresh], Lifetime, TimeProvider.System), TimeProvider.System)
            .CreateLink("msg_1@example.com", "ann@example.org", "https://example.com/");
        var tokens = new TrackingTokens(tracker, clock);

        (await tokens.VerifyAsync(token, TrackingAudience.Link, default)).Should().BeNull("the last miss was just now");
        clock.Advance(TimeSpan.FromSeconds(6));
        (await tokens.VerifyAsync(token, TrackingAudience.Link, default))!.Url.Should().Be("https://example.com/");
    }

    [Fact]
    public async Task A_failed_reload_keeps_the_loaded_keys_signing_and_verifying()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var ring = Ring(clock);
        await ring.EnsureSigningKeyAsync(default);
        var key = ring.SigningKey;
        await using (var drop = _dataSource.CreateCommand("DROP TABLE stats_keys"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        clock.Advance(TimeSpan.FromMinutes(2));
        await ring.EnsureSigningKeyAsync(default);

        ring.SigningKey.Should().BeSameAs(key);
        (await ring.FindAsync(key.Id, default)).Should().BeSameAs(key);
    }

    [Fact]
    public async Task A_ring_that_cannot_load_any_key_fails_loudly()
    {
        await using (var drop = _dataSource.CreateCommand("DROP TABLE stats_keys"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        var ensure = async () => await Ring().EnsureSigningKeyAsync(default);

        await ensure.Should().ThrowAsync<PostgresException>();
    }

    [Fact]
    public void A_ring_that_was_never_made_ready_refuses_to_sign()
    {
        var ring = Ring();

        var signing = () => ring.SigningKey;

        signing.Should().Throw<InvalidOperationException>();
    }

    private async Task<TrackingKey> InsertAsync(string id, DateTimeOffset expires)
    {
        var secret = RandomNumberGenerator.GetBytes(32);
        await using var command = _dataSource.CreateCommand(
            "INSERT INTO stats_keys (id, algorithm, secret, expiration_time) VALUES ($1, 'HS256', $2, $3)");
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue(Convert.ToBase64String(secret));
        command.Parameters.AddWithValue(expires);
        await command.ExecuteNonQueryAsync();
        return new TrackingKey(id, secret, DateTimeOffset.UtcNow, expires);
    }

    private async Task<List<(string Id, string Algorithm, string Secret, DateTimeOffset Expires)>> RowsAsync()
    {
        await using var command = _dataSource.CreateCommand("SELECT id, algorithm, secret, expiration_time FROM stats_keys");
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(string, string, string, DateTimeOffset)>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }

        return rows;
    }
}
