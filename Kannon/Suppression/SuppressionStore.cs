using Kannon.Data;
using Microsoft.EntityFrameworkCore;

namespace Kannon.Suppression;

/// <summary>
/// A Domain's suppression list as the operator manages it: list, look up, add by hand, remove (recorded in
/// <c>suppression_removals</c>). Addresses are keyed as <see cref="SuppressionList"/> keys them (local part
/// exact, domain part lower-cased), so what the operator adds is what intake, the Validator and the claim honour.
/// </summary>
internal sealed class SuppressionStore(KannonDbContext db, SuppressionList list, TimeProvider time)
{
    /// <summary>Newest first; <paramref name="reason"/> and <paramref name="addressPrefix"/> (case-insensitive) narrow it when given.</summary>
    public async Task<SuppressionPage> ListAsync(string domain, string? reason, string? addressPrefix, int skip, int take, CancellationToken cancellationToken)
    {
        var listed = db.Suppressions.AsNoTracking().Where(s => s.Domain == domain);
        if (reason is not null)
        {
            listed = listed.Where(s => s.Reason == reason);
        }

        if (!string.IsNullOrEmpty(addressPrefix))
        {
            listed = listed.Where(s => EF.Functions.ILike(s.Email, EscapeLike(addressPrefix) + "%", "\\"));
        }

        var total = await listed.CountAsync(cancellationToken).ConfigureAwait(false);
        var page = await listed.OrderByDescending(s => s.CreatedAt).ThenBy(s => s.Email).Skip(skip).Take(take)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return new SuppressionPage(page, total);
    }

    public Task<SuppressedAddress?> GetAsync(string domain, string email, CancellationToken cancellationToken) =>
        list.FindAsync(domain, email, cancellationToken);

    /// <summary>
    /// Suppresses <paramref name="email"/> with reason manual; an address already suppressed keeps its row
    /// (its first evidence wins), which is returned unchanged.
    /// </summary>
    public async Task<SuppressedAddress> AddManualAsync(string domain, string email, string note, CancellationToken cancellationToken)
    {
        // ON CONFLICT: an existing row, a concurrent Add or a bounce recorded meanwhile wins and is what we return.
        await list.AddAsync([new SuppressionEvidence(domain, email, SuppressionReason.Manual, "", "", "", "api", time.GetUtcNowForDatabase(), note)],
            cancellationToken).ConfigureAwait(false);
        return await GetAsync(domain, email, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"the suppression of {email} for {domain} vanished right after it was written");
    }

    /// <summary>Deletes the suppression and records the removal, in one statement; false when there was none.</summary>
    public async Task<bool> RemoveAsync(string domain, string email, string note, CancellationToken cancellationToken)
    {
        var key = SuppressionList.Normalize(email);
        var now = time.GetUtcNowForDatabase();
        var recorded = await db.Database.ExecuteSqlAsync($"""
            WITH removed AS (
                DELETE FROM suppressions WHERE domain = {domain} AND email = {key}
                RETURNING domain, email, reason)
            INSERT INTO suppression_removals (domain, email, reason, note, removed_at)
            SELECT domain, email, reason, {note}, {now} FROM removed
            """, cancellationToken).ConfigureAwait(false);
        return recorded > 0;
    }

    private static string EscapeLike(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);
}
