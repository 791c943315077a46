using System.Globalization;
using Kannon.Data;
using Kannon.Pool;
using Npgsql;

namespace Kannon.Validator;

/// <summary>
/// The Validator's SQL on the Pool. A batch is locked (SKIP LOCKED), judged, its outcomes published and its rows
/// settled in one short transaction: no "validating" write per Delivery. A Validator that dies mid-batch leaves
/// nothing behind (the transaction rolls back, the rows are to_validate again, and their outcomes are republished
/// under the same ids, which JetStream and the stats table each keep once). See ADR 0020.
/// </summary>
internal sealed class ValidationPool(NpgsqlDataSource dataSource)
{
    /// <param name="Suppressed">the Domain suppresses the address (it was suppressed after intake looked)</param>
    public sealed record Claimed(long Id, string Email, string BatchId, string Domain, DateTimeOffset CreatedAt, bool Suppressed = false);

    /// <summary>What to do with a locked batch: the ids that become scheduled and the ids that leave the Pool.</summary>
    public sealed record Verdict(IReadOnlyCollection<long> Valid, IReadOnlyCollection<long> Invalid);

    /// <summary>
    /// Locks up to <paramref name="limit"/> to_validate Deliveries, lets <paramref name="judge"/> decide (and publish)
    /// while they stay locked, then schedules or removes them and commits; the Dispatcher is woken on commit. A
    /// transaction left idle longer than <paramref name="holdLimit"/> (a frozen worker) is ended by PostgreSQL.
    /// Returns how many Deliveries were settled (0: none was waiting).
    /// </summary>
    public async Task<int> ValidateBatchAsync(int limit, TimeSpan holdLimit, Func<List<Claimed>, Task<Verdict>> judge, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var claimed = new List<Claimed>(limit);
        await using (var hold = new NpgsqlCommand(
            $"SET LOCAL idle_in_transaction_session_timeout = {((long)holdLimit.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)}; {ClaimPlan.IndexOrderOnly}", connection, transaction))
        {
            await hold.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var claim = new NpgsqlCommand($"""
            SELECT p.id, p.email, p.message_id, p.domain, p.created_at, {Suppression.SuppressionList.IsSuppressedSql("p.domain", "p.email")}
            FROM sending_pool_emails p WHERE p.status = '{DeliveryStatus.ToValidate}'
            ORDER BY p.scheduled_time LIMIT {limit.ToString(CultureInfo.InvariantCulture)} FOR UPDATE OF p SKIP LOCKED
            """, connection, transaction))
        {
            await using var reader = await claim.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                claimed.Add(new Claimed(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4), reader.GetBoolean(5)));
            }
        }

        if (claimed.Count == 0)
        {
            return 0;
        }

        // Throws (and the rollback unlocks the rows) when an outcome could not be published.
        var verdict = await judge(claimed).ConfigureAwait(false);
        if (verdict.Valid.Count > 0)
        {
            await using var schedule = new NpgsqlCommand(
                $"UPDATE sending_pool_emails SET status = '{DeliveryStatus.Scheduled}' WHERE id = ANY($1)", connection, transaction);
            schedule.Parameters.Add(new NpgsqlParameter { Value = verdict.Valid.ToArray() });
            await schedule.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using var notify = PoolSignal.NotifyCommand(connection, DeliveryStatus.Scheduled);
            notify.Transaction = transaction;
            await notify.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (verdict.Invalid.Count > 0)
        {
            await using var delete = new NpgsqlCommand("DELETE FROM sending_pool_emails WHERE id = ANY($1)", connection, transaction);
            delete.Parameters.Add(new NpgsqlParameter { Value = verdict.Invalid.ToArray() });
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return claimed.Count;
    }

    /// <summary>
    /// Rows a Validator of an earlier version claimed by writing "validating" and never settled (it died, or was
    /// replaced in an upgrade) go back to to_validate. This version never writes "validating".
    /// </summary>
    public async Task<int> ReclaimStaleAsync(TimeSpan olderThan, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"UPDATE sending_pool_emails SET status = '{DeliveryStatus.ToValidate}', claimed_at = NULL WHERE status = '{DeliveryStatus.Validating}' AND claimed_at < now() - $1");
        command.Parameters.Add(new NpgsqlParameter { Value = olderThan });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
