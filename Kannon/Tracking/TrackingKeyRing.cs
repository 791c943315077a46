using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Kannon.Tracking;

/// <summary>
/// The <c>stats_keys</c> that sign and verify tracking tokens, held in memory. A key signs while it has at
/// least one token lifetime left and verifies until it expires; a new key (32 random bytes) is created,
/// valid for two lifetimes, when none can sign, so every token expires before its key does.
/// The Dispatcher calls <see cref="EnsureSigningKeyAsync"/> before building (a no-op while the ring is
/// fresh); the Tracker calls <see cref="FindAsync"/>.
/// </summary>
internal sealed partial class TrackingKeyRing
{
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan UnknownKidInterval = TimeSpan.FromSeconds(5);

    // pg_advisory_xact_lock key serialising key creation across processes: ASCII "kannonK".
    private const long CreationLockKey = 0x6B616E6E6F6E4B;

    private const string HmacAlgorithm = "HS256";

    private readonly NpgsqlDataSource? _dataSource;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile Snapshot _snapshot;
    private DateTimeOffset _nextUnknownKidRefresh = DateTimeOffset.MinValue;

    public TrackingKeyRing(NpgsqlDataSource dataSource, IOptions<TrackerOptions> options, TimeProvider time, ILogger<TrackingKeyRing> logger)
    {
        _dataSource = dataSource;
        TokenLifetime = options.Value.TokenLifetime;
        _time = time;
        _logger = logger;
        _snapshot = Snapshot.Empty;
    }

    /// <summary>A ring over fixed keys that never touches a database (tests, benchmarks).</summary>
    internal TrackingKeyRing(IEnumerable<TrackingKey> keys, TimeSpan tokenLifetime, TimeProvider time)
    {
        TokenLifetime = tokenLifetime;
        _time = time;
        _logger = NullLogger.Instance;
        _snapshot = Snapshot.Of([.. keys], time.GetUtcNow(), tokenLifetime);
    }

    /// <summary>How long a token stays valid (<c>tracker.token_lifetime</c>).</summary>
    public TimeSpan TokenLifetime { get; }

    /// <summary>The key that signs now.</summary>
    /// <exception cref="InvalidOperationException">no key can sign for a whole token lifetime: call <see cref="EnsureSigningKeyAsync"/> first</exception>
    public TrackingKey SigningKey
    {
        get
        {
            var key = _snapshot.Signing;
            if (!CanSign(key))
            {
                throw new InvalidOperationException("no tracking key can sign a token now; call EnsureSigningKeyAsync before building");
            }

            return key!;
        }
    }

    /// <summary>
    /// Makes <see cref="SigningKey"/> usable: reloads the keys when the last load is a minute old or no
    /// loaded key can sign, and creates a key when the database has none that can.
    /// </summary>
    public async ValueTask EnsureSigningKeyAsync(CancellationToken cancellationToken)
    {
        if (_dataSource is null || !NeedsRefresh(_snapshot))
        {
            return;
        }

        await _refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (NeedsRefresh(_snapshot))
            {
                try
                {
                    await LoadAsync(createIfNone: true, cancellationToken).ConfigureAwait(false);
                }
                catch (NpgsqlException e) when (CanSign(_snapshot.Signing))
                {
                    // Only the periodic reload failed: the key in hand still signs.
                    LogReloadFailed(_logger, e.Message);
                }
            }
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <summary>
    /// The unexpired key with this id, or null. A kid not yet known reloads the keys (another process may
    /// have just created it), at most once every few seconds so that forged kids cannot hammer the database.
    /// </summary>
    public async ValueTask<TrackingKey?> FindAsync(string kid, CancellationToken cancellationToken)
    {
        var snapshot = _snapshot;
        var now = _time.GetUtcNow();
        if (_dataSource is not null && (now - snapshot.LoadedAt >= RefreshInterval || !snapshot.Keys.ContainsKey(kid)))
        {
            await _refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                snapshot = _snapshot;
                var stale = now - snapshot.LoadedAt >= RefreshInterval;
                if (stale || (!snapshot.Keys.ContainsKey(kid) && now >= _nextUnknownKidRefresh))
                {
                    if (!stale)
                    {
                        _nextUnknownKidRefresh = now + UnknownKidInterval;
                    }

                    try
                    {
                        snapshot = await LoadAsync(createIfNone: false, cancellationToken).ConfigureAwait(false);
                    }
                    catch (NpgsqlException e)
                    {
                        // The keys in hand still verify what they signed.
                        LogReloadFailed(_logger, e.Message);
                    }
                }
            }
            finally
            {
                _refresh.Release();
            }
        }

        return snapshot.Keys.TryGetValue(kid, out var key) && key.ExpiresAt > _time.GetUtcNow() ? key : null;
    }

    private bool NeedsRefresh(Snapshot snapshot) =>
        _time.GetUtcNow() - snapshot.LoadedAt >= RefreshInterval || !CanSign(snapshot.Signing);

    private bool CanSign(TrackingKey? key) => key is not null && key.ExpiresAt >= _time.GetUtcNow() + TokenLifetime;

    private async Task<Snapshot> LoadAsync(bool createIfNone, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource!.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var keys = await ReadAsync(connection, now, cancellationToken).ConfigureAwait(false);
        var snapshot = Snapshot.Of(keys, now, TokenLifetime);
        if (snapshot.Signing is null && createIfNone)
        {
            await CreateAsync(connection, now, cancellationToken).ConfigureAwait(false);
            snapshot = Snapshot.Of(await ReadAsync(connection, now, cancellationToken).ConfigureAwait(false), now, TokenLifetime);
        }

        _snapshot = snapshot;
        return snapshot;
    }

    private async Task<List<TrackingKey>> ReadAsync(NpgsqlConnection connection, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT id, algorithm, secret, creation_time, expiration_time FROM stats_keys WHERE expiration_time > @now",
            connection);
        command.Parameters.AddWithValue("now", now);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var keys = new List<TrackingKey>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var id = reader.GetString(0);
            var algorithm = reader.GetString(1);
            var secret = Secret(reader.GetString(2));
            if (algorithm != HmacAlgorithm || secret is null)
            {
                LogUnusableKey(_logger, id, algorithm);
                continue;
            }

            keys.Add(new TrackingKey(id, secret, reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4)));
        }

        return keys;
    }

    // Under a transaction-scoped advisory lock and re-checked inside it: two processes that both found no
    // signing key create one key between them, and the loser reads the winner's.
    private async Task CreateAsync(NpgsqlConnection connection, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({CreationLockKey})", connection, transaction))
        {
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var check = new NpgsqlCommand(
            "SELECT count(*) FROM stats_keys WHERE algorithm = @algorithm AND expiration_time >= @needed", connection, transaction))
        {
            check.Parameters.AddWithValue("algorithm", HmacAlgorithm);
            check.Parameters.AddWithValue("needed", now + TokenLifetime);
            if ((long)(await check.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! > 0)
            {
                return;
            }
        }

        var id = "key_" + RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 24);
        var expiresAt = now + (2 * TokenLifetime);
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO stats_keys (id, algorithm, secret, creation_time, expiration_time) VALUES (@id, @algorithm, @secret, @now, @expires)",
            connection, transaction))
        {
            insert.Parameters.AddWithValue("id", id);
            insert.Parameters.AddWithValue("algorithm", HmacAlgorithm);
            insert.Parameters.AddWithValue("secret", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
            insert.Parameters.AddWithValue("now", now);
            insert.Parameters.AddWithValue("expires", expiresAt);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        LogKeyCreated(_logger, id, expiresAt);
    }

    private static byte[]? Secret(string base64)
    {
        var buffer = new byte[base64.Length];
        return Convert.TryFromBase64String(base64, buffer, out var written) && written >= 32 ? buffer[..written] : null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created tracking key {KeyId}, valid until {ExpiresAt:o}")]
    private static partial void LogKeyCreated(ILogger logger, string keyId, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reloading tracking keys failed, keeping the loaded ones: {Reason}")]
    private static partial void LogReloadFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignoring stats key {KeyId}: algorithm {Algorithm} or its secret is not a 256-bit HS256 key")]
    private static partial void LogUnusableKey(ILogger logger, string keyId, string algorithm);

    private sealed record Snapshot(FrozenDictionary<string, TrackingKey> Keys, TrackingKey? Signing, DateTimeOffset LoadedAt)
    {
        public static Snapshot Empty { get; } = new(FrozenDictionary<string, TrackingKey>.Empty, null, DateTimeOffset.MinValue);

        /// <summary>The signing key is the one that lasts longest among those with a whole token lifetime left.</summary>
        public static Snapshot Of(IReadOnlyCollection<TrackingKey> keys, DateTimeOffset now, TimeSpan lifetime) => new(
            keys.ToFrozenDictionary(k => k.Id, StringComparer.Ordinal),
            keys.Where(k => k.ExpiresAt >= now + lifetime).MaxBy(k => k.ExpiresAt),
            now);
    }
}
