using Npgsql;
using NpgsqlTypes;

namespace Kannon.Suppression;

/// <summary>
/// The <c>suppressions</c> table's SQL, shared by its writer (the Dispatcher, ADR 0012), the send path that honours
/// it (intake, Validator, the Dispatcher's claim) and the Suppression API. Lists are per Domain. Addresses are
/// compared with the domain part lower-cased (<see cref="Normalize"/>), the local part as written.
/// </summary>
internal sealed class SuppressionList(NpgsqlDataSource dataSource)
{
    /// <summary>Why a Delivery to a suppressed address is refused: in intake's <c>rejected_recipients</c> and in the <c>rejected</c> stat.</summary>
    public const string RejectionReason = "suppressed";

    /// <summary>
    /// SQL for "the address in column <paramref name="email"/> of Domain column <paramref name="domain"/> is suppressed",
    /// for the Pool's claim queries (one index probe per row, no extra round trip).
    /// </summary>
    public static string IsSuppressedSql(string domain, string email) =>
        $"EXISTS (SELECT 1 FROM suppressions s WHERE s.domain = {domain} AND s.email = {NormalizeSql(email)})";

    /// <summary><c>Ann@Example.ORG</c> → <c>Ann@example.org</c>: domains are case-insensitive, local parts may not be.</summary>
    public static string Normalize(string email)
    {
        var trimmed = email.Trim();
        var at = trimmed.LastIndexOf('@');
        if (at < 0)
        {
            return trimmed;
        }

        // Most addresses are already normalized: then the same string, without the three copies of building it again.
        var domain = trimmed.AsSpan(at);
        var lower = domain.Length <= 256 ? stackalloc char[domain.Length] : new char[domain.Length];
        domain.ToLowerInvariant(lower);
        return lower.SequenceEqual(domain) ? trimmed : string.Concat(trimmed.AsSpan(0, at), lower);
    }

    /// <summary>
    /// Adds each address unless its Domain already suppresses it: the first evidence wins, and a redelivered event
    /// changes nothing. Evidence for a Domain that no longer exists is dropped. Returns how many rows are new.
    /// </summary>
    public async Task<int> AddAsync(IReadOnlyList<SuppressionEvidence> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return 0;
        }

        // Key order, and one row per key: two writers lock in the same order, and ON CONFLICT never sees a key twice.
        var rows = entries
            .Select(e => e with { Email = Normalize(e.Email) })
            .GroupBy(e => (e.Domain, e.Email))
            .Select(g => g.OrderBy(e => e.ObservedAt).First())
            .OrderBy(e => e.Domain, StringComparer.Ordinal).ThenBy(e => e.Email, StringComparer.Ordinal)
            .ToList();
        await using var command = dataSource.CreateCommand("""
            INSERT INTO suppressions (domain, email, reason, status_code, diagnostic, message_id, source, note, observed_at)
            SELECT e.domain, e.email, e.reason, e.status_code, e.diagnostic, e.message_id, e.source, e.note, e.observed_at
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[])
                AS e(domain, email, reason, status_code, diagnostic, message_id, source, note, observed_at)
            JOIN domains d ON d.domain = e.domain
            ORDER BY e.domain, e.email
            ON CONFLICT (domain, email) DO NOTHING
            """);
        command.Parameters.Add(Text(rows.Select(r => r.Domain)));
        command.Parameters.Add(Text(rows.Select(r => r.Email)));
        command.Parameters.Add(Text(rows.Select(r => r.Reason)));
        command.Parameters.Add(Text(rows.Select(r => Limit(r.StatusCode, 16))));
        command.Parameters.Add(Text(rows.Select(r => r.Diagnostic)));
        command.Parameters.Add(Text(rows.Select(r => r.MessageId)));
        command.Parameters.Add(Text(rows.Select(r => Limit(r.Source, 255))));
        command.Parameters.Add(Text(rows.Select(r => r.Note)));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = rows.Select(r => r.ObservedAt.ToUniversalTime()).ToArray() });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The Domain's whole list when it holds at most <paramref name="limit"/> addresses (normalized), else null. Most
    /// Domains suppress far fewer addresses than a big Batch names: read the list and compare here, instead of sending
    /// every address of the Batch to the database. An empty list, the usual case, costs a Batch one indexed read.
    /// </summary>
    public static async Task<HashSet<string>?> ListedUpToAsync(NpgsqlConnection connection, string domain, int limit, CancellationToken cancellationToken)
    {
        await using var whole = new NpgsqlCommand("SELECT email FROM suppressions WHERE domain = $1 LIMIT $2", connection);
        whole.Parameters.Add(new NpgsqlParameter { Value = domain });
        whole.Parameters.Add(new NpgsqlParameter { Value = limit + 1 });
        var listed = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await whole.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            listed.Add(reader.GetString(0));
        }

        return listed.Count <= limit ? listed : null;
    }

    /// <summary>The suppressed addresses (normalized) among <paramref name="emails"/>, asked of the database: for a Domain whose list is longer than the Batch.</summary>
    public static async Task<HashSet<string>> QueryAmongAsync(NpgsqlConnection connection, string domain, IEnumerable<string> emails, CancellationToken cancellationToken)
    {
        var suppressed = new HashSet<string>(StringComparer.Ordinal);
        var normalized = emails.Select(Normalize).Distinct(StringComparer.Ordinal).ToArray();
        await using var command = new NpgsqlCommand("SELECT email FROM suppressions WHERE domain = $1 AND email = ANY($2)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = domain });
        command.Parameters.Add(Text(normalized));
        await using var matches = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await matches.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            suppressed.Add(matches.GetString(0));
        }

        return suppressed;
    }

    /// <summary>One Domain's row for an address, or null when it is not suppressed.</summary>
    public async Task<SuppressedAddress?> FindAsync(string domain, string email, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT domain, email, reason, status_code, diagnostic, message_id, source, note, observed_at, created_at
            FROM suppressions WHERE domain = $1 AND email = $2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = domain });
        command.Parameters.Add(new NpgsqlParameter { Value = Normalize(email) });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return new SuppressedAddress
        {
            Domain = reader.GetString(0),
            Email = reader.GetString(1),
            Reason = reader.GetString(2),
            StatusCode = reader.GetString(3),
            Diagnostic = reader.GetString(4),
            MessageId = reader.GetString(5),
            Source = reader.GetString(6),
            Note = reader.GetString(7),
            ObservedAt = reader.GetFieldValue<DateTimeOffset>(8),
            CreatedAt = reader.GetFieldValue<DateTimeOffset>(9),
        };
    }

    // The domain part of a column, lower-cased, after the local part as written (the last '@' splits them).
    private static string NormalizeSql(string email) =>
        $"(substring({email} from '^(.*)@[^@]*$') || lower(substring({email} from '@[^@]*$')))";

    private static string Limit(string value, int length) => value.Length <= length ? value : value[..length];

    private static NpgsqlParameter<string[]> Text(IEnumerable<string> values) =>
        new() { TypedValue = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };
}
