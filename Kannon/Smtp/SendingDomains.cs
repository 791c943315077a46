using System.Collections.Concurrent;
using Kannon.Domains;
using Npgsql;

namespace Kannon.Smtp;

/// <summary>
/// Whether a domain is one of ours (a <c>domains</c> row), asked at every RCPT and so cached briefly: a
/// known domain for a minute, an unknown one for a few seconds (a domain created just now is seen soon).
/// </summary>
internal sealed class SendingDomains(NpgsqlDataSource database, TimeProvider time)
{
    private static readonly TimeSpan KnownFor = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan UnknownFor = TimeSpan.FromSeconds(5);

    // Random RCPT domains cannot grow the cache without bound.
    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, (bool Known, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    /// <exception cref="NpgsqlException">the database did not answer: the caller defers (4xx), never refuses</exception>
    public async ValueTask<bool> IsKnownAsync(string domain, CancellationToken cancellationToken)
    {
        if (domain.Length > DomainName.MaxLength)
        {
            return false;
        }

        var now = time.GetUtcNow();
        if (_cache.TryGetValue(domain, out var cached) && cached.Until > now)
        {
            return cached.Known;
        }

        await using var command = database.CreateCommand("SELECT EXISTS (SELECT 1 FROM domains WHERE domain = $1)");
        command.Parameters.AddWithValue(domain);
        var known = (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        if (_cache.Count >= MaxEntries)
        {
            _cache.Clear();
        }

        _cache[domain] = (known, now + (known ? KnownFor : UnknownFor));
        return known;
    }
}
