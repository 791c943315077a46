using System.Text.Json;
using Kannon.Data;
using Kannon.Dkim;
using Kannon.Tracking;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Kannon.Domains;

/// <summary>Registers sending Domains with their DKIM key and keeps their tracking ceiling and unsubscribe setting.</summary>
internal sealed class DomainRegistry(KannonDbContext db, TimeProvider time)
{
    /// <summary>Registers <paramref name="name"/> (canonical, see <see cref="DomainName"/>) with a new RSA key; null when it exists.</summary>
    public async Task<DomainDetails?> CreateAsync(string name, CancellationToken cancellationToken)
    {
        if (await ExistsAsync(name, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var now = time.GetUtcNowForDatabase();
        var domain = new Domain { Name = name, CreatedAt = now };
        var key = DkimKeyGenerator.NewRsa(name, now);
        db.Domains.Add(domain);
        db.DkimKeys.Add(key);
        try
        {
            // One SaveChanges, one transaction: a Domain never exists without its signing key.
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            // Lost a race with a concurrent CreateDomain of the same name.
            return null;
        }
        finally
        {
            db.ChangeTracker.Clear();
        }

        return new DomainDetails(name, domain.Tracking, key.PublicKey, domain.Unsubscribe);
    }

    public Task<bool> ExistsAsync(string name, CancellationToken cancellationToken) =>
        db.Domains.AnyAsync(d => d.Name == name, cancellationToken);

    public async Task<DomainDetails?> GetAsync(string name, CancellationToken cancellationToken)
    {
        var found = await Details(db.Domains.Where(d => d.Name == name)).ToListAsync(cancellationToken).ConfigureAwait(false);
        return found.FirstOrDefault();
    }

    /// <summary>Every Domain, by name in byte order (not the database's collation, which may skip punctuation).</summary>
    public Task<List<DomainDetails>> ListAsync(CancellationToken cancellationToken) =>
        Details(db.Domains.OrderBy(d => EF.Functions.Collate(d.Name, "C"))).ToListAsync(cancellationToken);

    /// <summary>Changes the ceiling of the axes given (a null axis keeps its value); null when the Domain does not exist.</summary>
    public async Task<DomainDetails?> SetTrackingPolicyAsync(string name, string? opens, string? links, CancellationToken cancellationToken)
    {
        var patch = new Dictionary<string, string>();
        if (opens is not null)
        {
            patch["opens"] = opens;
        }

        if (links is not null)
        {
            patch["links"] = links;
        }

        // A jsonb merge in one statement: two callers changing different axes never undo each other.
        var json = JsonSerializer.Serialize(patch);
        var updated = await db.Database
            .ExecuteSqlAsync($"UPDATE domains SET tracking = tracking || {json}::jsonb WHERE domain = {name}", cancellationToken)
            .ConfigureAwait(false);
        return updated == 0 ? null : await GetAsync(name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sets whether Kannon hosts one-click unsubscribe (<see cref="UnsubscribeMode"/>); null when the Domain does not exist.</summary>
    public async Task<DomainDetails?> SetUnsubscribeAsync(string name, string mode, CancellationToken cancellationToken)
    {
        var updated = await db.Domains.Where(d => d.Name == name)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.Unsubscribe, mode), cancellationToken).ConfigureAwait(false);
        return updated == 0 ? null : await GetAsync(name, cancellationToken).ConfigureAwait(false);
    }

    private IQueryable<DomainDetails> Details(IQueryable<Domain> domains) =>
        from d in domains
        join k in db.DkimKeys.Where(k => k.RetiredAt == null && k.Algorithm == DkimAlgorithm.RsaSha256)
            on d.Name equals k.Domain into keys
        from k in keys.DefaultIfEmpty()
        select new DomainDetails(d.Name, d.Tracking, k == null ? "" : k.PublicKey, d.Unsubscribe);
}
