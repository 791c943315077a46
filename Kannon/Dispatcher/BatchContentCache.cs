using System.Collections.Concurrent;
using System.Text.Json;
using Kannon.Dkim;
using Kannon.Domains;
using Kannon.Envelopes;
using Npgsql;

namespace Kannon.Dispatcher;

/// <summary>
/// Batch content by id, read from PostgreSQL once and kept for a minute: a Batch of 100,000 Deliveries
/// costs one query, not 100,000. Bounded; the oldest entries go first. The Domain's unsubscribe setting comes
/// with it, so a change reaches Batches already being dispatched within that minute.
/// </summary>
internal sealed class BatchContentCache(NpgsqlDataSource dataSource, TimeProvider time)
{
    private const int Capacity = 2_000;
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, (EnvelopeBatch? Content, DateTimeOffset Until)> _entries = new();

    /// <summary>The content of each Batch id; a Batch that cannot be built (gone, no DKIM key) maps to null.</summary>
    public async Task<Dictionary<string, EnvelopeBatch?>> GetAsync(IEnumerable<string> batchIds, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var result = new Dictionary<string, EnvelopeBatch?>();
        var missing = new List<string>();
        foreach (var id in batchIds.Distinct())
        {
            if (_entries.TryGetValue(id, out var entry) && entry.Until > now)
            {
                result[id] = entry.Content;
            }
            else
            {
                missing.Add(id);
            }
        }

        if (missing.Count > 0)
        {
            var loaded = await LoadAsync(missing, cancellationToken).ConfigureAwait(false);
            if (_entries.Count > Capacity)
            {
                foreach (var old in _entries.OrderBy(e => e.Value.Until).Take(_entries.Count - Capacity / 2).Select(e => e.Key).ToList())
                {
                    _entries.TryRemove(old, out _);
                }
            }

            foreach (var id in missing)
            {
                var content = loaded.GetValueOrDefault(id);
                result[id] = content;
                _entries[id] = (content, now + Lifetime);
            }
        }

        return result;
    }

    private async Task<Dictionary<string, EnvelopeBatch>> LoadAsync(List<string> batchIds, CancellationToken cancellationToken)
    {
        var attachments = new Dictionary<string, List<EnvelopeAttachment>>();
        await using (var command = dataSource.CreateCommand("SELECT message_id, filename, content FROM message_attachments WHERE message_id = ANY($1) ORDER BY filename"))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = batchIds.ToArray() });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var id = reader.GetString(0);
                if (!attachments.TryGetValue(id, out var list))
                {
                    attachments[id] = list = [];
                }

                list.Add(new EnvelopeAttachment(reader.GetString(1), reader.GetFieldValue<byte[]>(2)));
            }
        }

        var result = new Dictionary<string, EnvelopeBatch>();
        await using (var command = dataSource.CreateCommand("""
            SELECT m.message_id, m.domain, m.subject, m.sender_email, m.sender_alias, m.template_id, t.html, m.headers::text, k.selector, k.private_key, m.trace_parent,
                   d.unsubscribe
            FROM messages m
            JOIN domains d ON d.domain = m.domain
            JOIN templates t ON t.template_id = m.template_id
            JOIN dkim_keys k ON k.domain = m.domain AND k.algorithm = 'rsa-sha256' AND k.retired_at IS NULL
            WHERE m.message_id = ANY($1)
            """))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = batchIds.ToArray() });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var id = reader.GetString(0);
                using var headers = JsonDocument.Parse(reader.GetString(7));
                var domain = reader.GetString(1);
                result[id] = new EnvelopeBatch
                {
                    BatchId = id,
                    Domain = domain,
                    Subject = reader.GetString(2),
                    SenderEmail = reader.GetString(3),
                    SenderAlias = reader.GetString(4),
                    TemplateId = reader.GetString(5),
                    Html = reader.GetString(6),
                    To = ReadList(headers.RootElement, "to"),
                    Cc = ReadList(headers.RootElement, "cc"),
                    Attachments = attachments.GetValueOrDefault(id) ?? [],
                    Dkim = new DkimMaterial(domain, reader.GetString(8), reader.GetString(9)),
                    TraceParent = reader.IsDBNull(10) ? null : reader.GetString(10),
                    HostedUnsubscribe = reader.GetString(11) == UnsubscribeMode.Hosted,
                };
            }
        }

        return result;
    }

    private static List<string> ReadList(JsonElement root, string name) =>
        root.TryGetProperty(name, out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Select(e => e.GetString()).OfType<string>().ToList()
            : [];
}
