using System.Text.Json;
using Kannon.Data;
using Kannon.Pool;
using Kannon.Tracking;
using Npgsql;

namespace Kannon.Dispatcher;

/// <summary>The Dispatcher's SQL on the Pool: claims, the dispatching → sending step, outcomes, reclaims. Every statement works on a whole batch.</summary>
internal sealed class DispatchPool(NpgsqlDataSource dataSource)
{
    private static readonly JsonSerializerOptions Json = new();

    public sealed record Claimed(
        long Id, string Email, string BatchId, string Domain, Dictionary<string, string> Fields,
        TrackingPolicy Tracking, int Attempts, DateTimeOffset OriginalScheduledTime, bool Suppressed = false);

    public sealed record InFlight(long Id, string Email, string BatchId, string Domain, int Attempts, DateTimeOffset OriginalScheduledTime);

    /// <summary>
    /// Due scheduled Deliveries become dispatching; two Dispatchers never get the same row. Each says whether its
    /// Domain suppressed the address since intake (the caller ends those instead of sending).
    /// </summary>
    public async Task<List<Claimed>> ClaimDueAsync(int limit, CancellationToken cancellationToken)
    {
        // In a transaction of its own, for the planner setting that keeps the claim on the index (ADR 0023); the
        // setting and the claim go in one round trip.
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection, transaction) { BatchCommands = { new NpgsqlBatchCommand(ClaimPlan.IndexOrderOnly) } };
        var command = new NpgsqlBatchCommand($"""
            UPDATE sending_pool_emails p SET status = '{DeliveryStatus.Dispatching}', claimed_at = now()
            FROM (SELECT id FROM sending_pool_emails WHERE status = '{DeliveryStatus.Scheduled}' AND scheduled_time <= now()
                  ORDER BY scheduled_time LIMIT $1 FOR UPDATE SKIP LOCKED) c
            WHERE p.id = c.id
            RETURNING p.id, p.email, p.message_id, p.domain, p.fields::text, p.tracking::text, p.send_attempts_cnt, p.original_scheduled_time,
                {Suppression.SuppressionList.IsSuppressedSql("p.domain", "p.email")}
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        batch.BatchCommands.Add(command);
        var rows = new List<Claimed>(limit);
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add(new Claimed(
                    reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                    JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(4), Json) ?? [],
                    JsonSerializer.Deserialize<TrackingPolicy>(reader.GetString(5), Json) ?? TrackingPolicy.Default,
                    reader.GetInt32(6), reader.GetFieldValue<DateTimeOffset>(7), reader.GetBoolean(8)));
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return rows;
    }

    /// <summary>The Envelopes are in the stream: their Deliveries now wait for the Sender's outcome.</summary>
    public Task<int> MarkSendingAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken) =>
        ExecuteAsync($"UPDATE sending_pool_emails SET status = '{DeliveryStatus.Sending}', claimed_at = now() WHERE id = ANY($1) AND status = '{DeliveryStatus.Dispatching}'",
            cancellationToken, ids.ToArray());

    /// <summary>
    /// Back to scheduled at the given times with one more attempt counted (a failed build or an error outcome), for
    /// each Delivery still in one of <paramref name="fromStatuses"/> at the attempt the caller saw: a Delivery that
    /// moved on meanwhile (another worker rescheduled it, its next attempt is already dispatched) is left alone.
    /// </summary>
    public async Task<int> RescheduleAsync(IReadOnlyList<(long Id, int Attempt, DateTimeOffset At)> retries, string[] fromStatuses, CancellationToken cancellationToken)
    {
        if (retries.Count == 0)
        {
            return 0;
        }

        await using var command = dataSource.CreateCommand($"""
            UPDATE sending_pool_emails p SET status = '{DeliveryStatus.Scheduled}', scheduled_time = r.at,
                send_attempts_cnt = p.send_attempts_cnt + 1, claimed_at = NULL
            FROM unnest($1::bigint[], $2::integer[], $3::timestamptz[]) AS r(id, attempt, at)
            WHERE p.id = r.id AND p.send_attempts_cnt = r.attempt AND p.status = ANY($4)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = retries.Select(r => r.Id).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = retries.Select(r => r.Attempt).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = retries.Select(r => r.At).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = fromStatuses });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Dispatching claims back to scheduled as they were: same attempt, same place in the queue.</summary>
    public Task<int> ReleaseAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken) =>
        ids.Count == 0 ? Task.FromResult(0) : ExecuteAsync(
            $"UPDATE sending_pool_emails SET status = '{DeliveryStatus.Scheduled}', claimed_at = NULL WHERE id = ANY($1) AND status = '{DeliveryStatus.Dispatching}'",
            cancellationToken, ids.ToArray());

    public Task<int> DeleteAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken) =>
        ids.Count == 0 ? Task.FromResult(0) : ExecuteAsync("DELETE FROM sending_pool_emails WHERE id = ANY($1)", cancellationToken, ids.ToArray());

    /// <summary>
    /// Terminal outcomes that name no Delivery id (a report's bounce): the Delivery leaves the Pool, whatever state
    /// it is in since it was dispatched (a to_validate one was never sent; stating it lets the planner use the partial
    /// address index, migration 0006). The Sender's outcomes carry the id and go through <see cref="DeleteAsync"/>.
    /// </summary>
    public async Task<int> DeleteByRecipientAsync(IReadOnlyList<(string Email, string BatchId)> deliveries, CancellationToken cancellationToken)
    {
        if (deliveries.Count == 0)
        {
            return 0;
        }

        await using var command = dataSource.CreateCommand($"""
            DELETE FROM sending_pool_emails p USING unnest($1::text[], $2::text[]) AS d(email, message_id)
            WHERE p.email = d.email AND p.message_id = d.message_id AND p.status <> '{DeliveryStatus.ToValidate}'
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = deliveries.Select(d => d.Email).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = deliveries.Select(d => d.BatchId).ToArray() });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The Deliveries error outcomes name by id (their dispatch headers) that may still wait for them; the caller keeps
    /// those whose attempt is the one the error is about. Besides sending, that is dispatching (the Dispatcher has not
    /// marked the Envelope sent yet) and scheduled: an Envelope whose publish ack was lost (a NATS restart) is put
    /// back as scheduled at the same attempt, and its republish is dropped as a duplicate, so the outcome of the copy
    /// that did land is the only one that Delivery will ever get.
    /// </summary>
    public async Task<List<InFlight>> FindInFlightAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return [];
        }

        await using var command = dataSource.CreateCommand($"""
            SELECT id, email, message_id, domain, send_attempts_cnt, original_scheduled_time FROM sending_pool_emails
            WHERE id = ANY($1) AND status IN ('{DeliveryStatus.Scheduled}', '{DeliveryStatus.Dispatching}', '{DeliveryStatus.Sending}')
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray() });
        return await ReadInFlightAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The Deliveries error outcomes without a Delivery id are about (by address and Batch), still waiting: the caller
    /// moves only those sending.
    /// </summary>
    public async Task<List<InFlight>> FindSendingAsync(IReadOnlyList<(string Email, string BatchId)> deliveries, CancellationToken cancellationToken)
    {
        if (deliveries.Count == 0)
        {
            return [];
        }

        await using var command = dataSource.CreateCommand($"""
            SELECT p.id, p.email, p.message_id, p.domain, p.send_attempts_cnt, p.original_scheduled_time
            FROM sending_pool_emails p JOIN unnest($1::text[], $2::text[]) AS d(email, message_id)
              ON p.email = d.email AND p.message_id = d.message_id
            WHERE p.status = '{DeliveryStatus.Sending}'
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = deliveries.Select(d => d.Email).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = deliveries.Select(d => d.BatchId).ToArray() });
        return await ReadInFlightAsync(command, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<List<InFlight>> ReadInFlightAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var rows = new List<InFlight>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new InFlight(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4), reader.GetFieldValue<DateTimeOffset>(5)));
        }

        return rows;
    }

    /// <summary>
    /// Claims whose Envelope was never published (the Dispatcher died) go back to scheduled with the same attempt
    /// count, so the republished Envelope has the same Nats-Msg-Id and JetStream drops it if it was stored after all.
    /// </summary>
    public Task<int> ReclaimDispatchingAsync(TimeSpan olderThan, CancellationToken cancellationToken) =>
        ExecuteAsync($"UPDATE sending_pool_emails SET status = '{DeliveryStatus.Scheduled}', claimed_at = NULL WHERE status = '{DeliveryStatus.Dispatching}' AND claimed_at < now() - $1",
            cancellationToken, olderThan);

    /// <summary>
    /// Sending with no outcome for a long time (its outcome or its Envelope was lost, ADR 0024): dispatched again as the
    /// same attempt. The Sender's guard is keyed by Delivery and attempt, so the new Envelope republishes the outcome
    /// the first transaction recorded, reports it interrupted, or sends only if no transaction ever started; and an
    /// Envelope still waiting in the stream has the same Nats-Msg-Id, so inside the duplicate window it is not stored twice.
    /// </summary>
    public Task<int> ReclaimSendingAsync(TimeSpan olderThan, CancellationToken cancellationToken) =>
        ExecuteAsync($"UPDATE sending_pool_emails SET status = '{DeliveryStatus.Scheduled}', claimed_at = NULL WHERE status = '{DeliveryStatus.Sending}' AND claimed_at < now() - $1",
            cancellationToken, olderThan);

    private async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, object value)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = value });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
