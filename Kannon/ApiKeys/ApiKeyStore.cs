using Kannon.Data;
using Microsoft.EntityFrameworkCore;

namespace Kannon.ApiKeys;

/// <summary>A Domain's API keys: creation, listing, irreversible deactivation, and authentication of a presented key.</summary>
internal sealed class ApiKeyStore(KannonDbContext db, TimeProvider time)
{
    public const string IdPrefix = "key_";

    public async Task<CreatedApiKey> CreateAsync(string domain, string name, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        var plaintext = ApiKeySecret.Generate();
        var key = new ApiKey
        {
            Id = IdPrefix + Data.RandomId.Next(),
            Name = name,
            Domain = domain,
            CreatedAt = time.GetUtcNowForDatabase(),
            ExpiresAt = expiresAt?.ToDatabasePrecision(),
            IsActive = true,
            KeyHash = ApiKeySecret.Hash(plaintext),
            KeyPrefix = ApiKeySecret.ShownPrefix(plaintext),
        };
        db.ApiKeys.Add(key);
        try
        {
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            db.ChangeTracker.Clear();
        }

        return new CreatedApiKey(key, plaintext);
    }

    /// <summary>A page of the Domain's keys, oldest first; <paramref name="onlyActive"/> leaves out deactivated ones (not expired ones).</summary>
    public async Task<ApiKeyPage> ListAsync(string domain, bool onlyActive, int offset, int limit, CancellationToken cancellationToken)
    {
        var listed = db.ApiKeys.Where(k => k.Domain == domain);
        if (onlyActive)
        {
            listed = listed.Where(k => k.IsActive);
        }

        var total = await listed.CountAsync(cancellationToken).ConfigureAwait(false);
        var page = await listed.OrderBy(k => k.CreatedAt).ThenBy(k => k.Id).Skip(offset).Take(limit)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return new ApiKeyPage(page, total);
    }

    public Task<ApiKey?> GetAsync(string domain, string id, CancellationToken cancellationToken) =>
        db.ApiKeys.FirstOrDefaultAsync(k => k.Id == id && k.Domain == domain, cancellationToken);

    /// <summary>Deactivates the key for good; a second call changes nothing (the first <c>deactivated_at</c> stays). Null when there is no such key.</summary>
    public async Task<ApiKey?> DeactivateAsync(string domain, string id, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNowForDatabase();
        await db.ApiKeys.Where(k => k.Id == id && k.Domain == domain && k.IsActive)
            .ExecuteUpdateAsync(s => s.SetProperty(k => k.IsActive, false).SetProperty(k => k.DeactivatedAt, now), cancellationToken)
            .ConfigureAwait(false);
        return await GetAsync(domain, id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The key <paramref name="plaintext"/> of <paramref name="domain"/> when it is active and unexpired, else null.
    /// Always one hash and one query, whatever was presented, so a refusal takes as long as an acceptance.
    /// </summary>
    public async Task<ApiKey?> AuthenticateAsync(string domain, string plaintext, CancellationToken cancellationToken)
    {
        var hash = ApiKeySecret.Hash(plaintext);
        var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.KeyHash == hash && k.Domain == domain, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNowForDatabase();
        return key is { IsActive: true } && (key.ExpiresAt is null || key.ExpiresAt > now) ? key : null;
    }
}
