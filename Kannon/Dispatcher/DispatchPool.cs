using System.Text.Json;
using Kannon.Data;
using Kannon.Pool;
using Kannon.Tracking;
using Npgsql;

namespace Kannon.Dispatcher;

/// <summary>The Dispatcher's SQL on the Pool: held claims, the step to sending, outcomes, reclaims. Every statement works on a whole batch.</summary>
internal sealed class DispatchPool(NpgsqlDataSource dataSource)
{
    private static readonly JsonSerializerOptions Json = new();

    public sealed record Claimed(
        long Id, string Email, string BatchId, string Domain, Dictionary<string, string> Fields,
        TrackingPolicy Tracking, int Attempts, DateTimeOffset OriginalScheduledTime, bool Suppressed = false);

    public sealed record InFlight(long Id, string Email, string BatchId, string Domain, int Attempts, DateTimeOffset OriginalScheduledTime);

    /// <summary>
    /// Due scheduled Deliveries, locked until the claim commits or is disposed (ADR 0018); two Dispatchers never get
    /// the same row. Each says whether its Domain suppressed the address since intake (the caller ends those instead
    /// of sending).
    /// </summary>
    public Task<HeldClaim<Claimed>> ClaimDueAsync(int limit, TimeSpan hold, CancellationToken cancellationToken) =>
        HeldClaim<Claimed>.OpenAsync(dataSource, hold, $"""
            SELECT p.id, p.email, p.message_id, p.domain, p.fields::text, p.tracking::text, p.send_attempts_cnt, p.original_scheduled_time,
                {Suppression.SuppressionList.IsSuppressedSql("p.domain", "p.email")}
            FROM sending_pool_emails p WHERE p.status = '{DeliveryStatus.Scheduled}' AND p.scheduled_time <= now()
            ORDER BY p.scheduled_time LIMIT $1 FOR UPDATE OF p SKIP LOCKED
            """,
            [limit],
            reader => new Claimed(
                reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(4), Json) ?? [],
                JsonSerializer.Deserialize<TrackingPolicy>(reader.GetString(5), Json) ?? TrackingPolicy.Default,
                reader.GetInt32(6), reader.GetFieldValue<DateTimeOffset>(7), reader.GetBoolean(8)),
            cancellationToken);

    /// <summary>The Envelopes are in the stream: their Deliveries now wait for the Sender's outcome (lands when the claim commits).</summary>
    public Task<int> MarkSendingAsync(IReadOnlyCollection<long> ids, NpgsqlConnection claim, CancellationToken cancellationToken) =>
        ExecuteAsync($"UPDATE sending_pool_emails SET status = '{DeliveryStatus.Sending}', claimed_at = now() WHERE id = ANY($1) AND status = '{DeliveryStatus.Scheduled}'",
            cancellationToken, ids.ToArray(), claim);

    /// <summary>Back to scheduled at the given times with one more attempt counted (a failed build or an error outcome).</summary>
    public async Task<int> RescheduleAsync(IReadOnlyList<(long Id, DateTimeOffset At)> retries, string fromStatus, CancellationToken cancellationToken,
        NpgsqlConnection? claim = null)
    {
        if (retries.Count == 0)
        {
            return 0;
        }

        await using var command = Command(claim, $"""
            UPDATE sending_pool_emails p SET status = '{DeliveryStatus.Scheduled}', scheduled_time = r.at,
                send_attempts_cnt = p.send_attempts_cnt + 1, claimed_at = NULL
            FROM unnest($1::bigint[], $2::timestamptz[]) AS r(id, at)
            WHERE p.id = r.id AND p.status = $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = retries.Select(r => r.Id).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = retries.Select(r => r.At).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = fromStatus });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <param name="claim">the held claim's connection when the rows are in it (a second connection would wait on its locks forever)</param>
    public Task<int> DeleteAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken, NpgsqlConnection? claim = null) =>
        ids.Count == 0 ? Task.FromResult(0) : ExecuteAsync("DELETE FROM sending_pool_emails WHERE id = ANY($1)", cancellationToken, ids.ToArray(), claim);

    /// <summary>Terminal outcomes (delivered, bounced): the Delivery leaves the Pool, whatever state it is in.</summary>
    public async Task<int> DeleteByRecipientAsync(IReadOnlyList<(string Email, string BatchId)> deliveries, CancellationToken cancellationToken)
    {
        if (deliveries.Count == 0)
        {
            return 0;
        }

        await using var command = dataSource.CreateCommand("""
            DELETE FROM sending_pool_emails p USING unnest($1::text[], $2::text[]) AS d(email, message_id)
            WHERE p.email = d.email AND p.message_id = d.message_id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = deliveries.Select(d => d.Email).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = deliveries.Select(d => d.BatchId).ToArray() });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The Deliveries an error outcome is about, still waiting for it (status sending). A row a Dispatcher holds is
    /// waited for: its Envelope may have failed before the Dispatcher committed it as sending (ADR 0018).
    /// </summary>
    public async Task<List<InFlight>> FindSendingAsync(IReadOnlyList<(string Email, string BatchId)> deliveries, CancellationToken cancellationToken)
    {
        // FOR UPDATE waits for a held claim and then reads the row as committed; only then is the status judged.
        await using var command = dataSource.CreateCommand($"""
            SELECT p.id, p.email, p.message_id, p.domain, p.send_attempts_cnt, p.original_scheduled_time, p.status
            FROM sending_pool_emails p JOIN unnest($1::text[], $2::text[]) AS d(email, message_id)
              ON p.email = d.email AND p.message_id = d.message_id
            WHERE p.status IN ('{DeliveryStatus.Scheduled}', '{DeliveryStatus.Sending}')
            FOR UPDATE OF p
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = deliveries.Select(d => d.Email).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = deliveries.Select(d => d.BatchId).ToArray() });
        var rows = new List<InFlight>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (reader.GetString(6) != DeliveryStatus.Sending)
            {
                continue;
            }

            rows.Add(new InFlight(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4), reader.GetFieldValue<DateTimeOffset>(5)));
        }

        return rows;
    }

    /// <summary>
    /// Rows a version that wrote its claims (before ADR 0018) left dispatching when it died go back to scheduled with
    /// the same attempt count, so the republished Envelope has the same Nats-Msg-Id and JetStream drops it if it was
    /// stored after all.
    /// </summary>
    public Task<int> ReclaimDispatchingAsync(TimeSpan olderThan, CancellationToken cancellationToken) =>
        ExecuteAsync($"UPDATE sending_pool_emails SET status = '{DeliveryStatus.Scheduled}', claimed_at = NULL WHERE status = '{DeliveryStatus.Dispatching}' AND claimed_at < now() - $1",
            cancellationToken, olderThan);

    /// <summary>Sending with no outcome for a long time (the outcome was lost): dispatched again as a new attempt.</summary>
    public Task<int> ReclaimSendingAsync(TimeSpan olderThan, CancellationToken cancellationToken) =>
        ExecuteAsync($"UPDATE sending_pool_emails SET status = '{DeliveryStatus.Scheduled}', claimed_at = NULL, send_attempts_cnt = send_attempts_cnt + 1 WHERE status = '{DeliveryStatus.Sending}' AND claimed_at < now() - $1",
            cancellationToken, olderThan);

    private NpgsqlCommand Command(NpgsqlConnection? claim, string sql) => claim is null ? dataSource.CreateCommand(sql) : new NpgsqlCommand(sql, claim);

    private async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, object value, NpgsqlConnection? claim = null)
    {
        await using var command = Command(claim, sql);
        command.Parameters.Add(new NpgsqlParameter { Value = value });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
