using Kannon.Data;
using Kannon.Pool;
using Npgsql;

namespace Kannon.Validator;

/// <summary>The Validator's SQL on the Pool: claim with SKIP LOCKED, settle in one statement each, reclaim the stranded.</summary>
internal sealed class ValidationPool(NpgsqlDataSource dataSource)
{
    /// <param name="Suppressed">the Domain suppresses the address (it was suppressed after intake looked)</param>
    public sealed record Claimed(long Id, string Email, string BatchId, string Domain, DateTimeOffset CreatedAt, bool Suppressed = false);

    public async Task<List<Claimed>> ClaimAsync(int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            UPDATE sending_pool_emails p SET status = '{DeliveryStatus.Validating}', claimed_at = now()
            FROM (SELECT id FROM sending_pool_emails WHERE status = '{DeliveryStatus.ToValidate}'
                  ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) c
            WHERE p.id = c.id
            RETURNING p.id, p.email, p.message_id, p.domain, p.created_at, {Suppression.SuppressionList.IsSuppressedSql("p.domain", "p.email")}
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        var rows = new List<Claimed>(limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new Claimed(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4), reader.GetBoolean(5)));
        }

        return rows;
    }

    /// <summary>Valid rows become scheduled, invalid ones leave the Pool; the Dispatcher is woken on commit.</summary>
    public async Task SettleAsync(IReadOnlyCollection<long> valid, IReadOnlyCollection<long> invalid, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (valid.Count > 0)
        {
            await using var schedule = new NpgsqlCommand(
                $"UPDATE sending_pool_emails SET status = '{DeliveryStatus.Scheduled}', claimed_at = NULL WHERE id = ANY($1) AND status = '{DeliveryStatus.Validating}'",
                connection, transaction);
            schedule.Parameters.Add(new NpgsqlParameter { Value = valid.ToArray() });
            await schedule.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using var notify = PoolSignal.NotifyCommand(connection, DeliveryStatus.Scheduled);
            await notify.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (invalid.Count > 0)
        {
            await using var delete = new NpgsqlCommand(
                $"DELETE FROM sending_pool_emails WHERE id = ANY($1) AND status = '{DeliveryStatus.Validating}'", connection, transaction);
            delete.Parameters.Add(new NpgsqlParameter { Value = invalid.ToArray() });
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Gives back claims whose worker died (or could not publish) so another takes them.</summary>
    public async Task<int> ReleaseAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"UPDATE sending_pool_emails SET status = '{DeliveryStatus.ToValidate}', claimed_at = NULL WHERE id = ANY($1) AND status = '{DeliveryStatus.Validating}'");
        command.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray() });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> ReclaimStaleAsync(TimeSpan olderThan, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"UPDATE sending_pool_emails SET status = '{DeliveryStatus.ToValidate}', claimed_at = NULL WHERE status = '{DeliveryStatus.Validating}' AND claimed_at < now() - $1");
        command.Parameters.Add(new NpgsqlParameter { Value = olderThan });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
