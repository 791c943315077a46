using Kannon.Data;
using Kannon.Pool;
using Npgsql;

namespace Kannon.Validator;

/// <summary>The Validator's SQL on the Pool: claim as held row locks (ADR 0018), settle in the claim's transaction.</summary>
internal sealed class ValidationPool(NpgsqlDataSource dataSource)
{
    /// <param name="Suppressed">the Domain suppresses the address (it was suppressed after intake looked)</param>
    public sealed record Claimed(long Id, string Email, string BatchId, string Domain, DateTimeOffset CreatedAt, bool Suppressed = false);

    /// <summary>Up to <paramref name="limit"/> to_validate Deliveries, locked until the claim commits or is disposed (then they are to_validate again).</summary>
    public Task<HeldClaim<Claimed>> ClaimAsync(int limit, TimeSpan hold, CancellationToken cancellationToken) =>
        HeldClaim<Claimed>.OpenAsync(dataSource, hold, $"""
            SELECT p.id, p.email, p.message_id, p.domain, p.created_at, {Suppression.SuppressionList.IsSuppressedSql("p.domain", "p.email")}
            FROM sending_pool_emails p WHERE p.status = '{DeliveryStatus.ToValidate}'
            ORDER BY p.id LIMIT $1 FOR UPDATE OF p SKIP LOCKED
            """,
            [limit],
            reader => new Claimed(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4), reader.GetBoolean(5)),
            cancellationToken);

    /// <summary>Valid rows become scheduled, invalid ones leave the Pool, in one commit; the Dispatcher is woken by it.</summary>
    public async Task SettleAsync(HeldClaim<Claimed> claim, IReadOnlyCollection<long> valid, IReadOnlyCollection<long> invalid, CancellationToken cancellationToken)
    {
        if (valid.Count > 0)
        {
            await using var schedule = claim.Command(
                $"UPDATE sending_pool_emails SET status = '{DeliveryStatus.Scheduled}', claimed_at = NULL WHERE id = ANY($1) AND status = '{DeliveryStatus.ToValidate}'");
            schedule.Parameters.Add(new NpgsqlParameter { Value = valid.ToArray() });
            await schedule.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using var notify = PoolSignal.NotifyCommand(claim.Connection, DeliveryStatus.Scheduled);
            await notify.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (invalid.Count > 0)
        {
            await using var delete = claim.Command(
                $"DELETE FROM sending_pool_emails WHERE id = ANY($1) AND status = '{DeliveryStatus.ToValidate}'");
            delete.Parameters.Add(new NpgsqlParameter { Value = invalid.ToArray() });
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await claim.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Rows left validating by a version that wrote its claims (before ADR 0018) and died: to_validate again.</summary>
    public async Task<int> ReclaimStaleAsync(TimeSpan olderThan, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"UPDATE sending_pool_emails SET status = '{DeliveryStatus.ToValidate}', claimed_at = NULL WHERE status = '{DeliveryStatus.Validating}' AND claimed_at < now() - $1");
        command.Parameters.Add(new NpgsqlParameter { Value = olderThan });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
