using Kannon.Dispatcher;
using Kannon.Tests.Infrastructure;
using Kannon.Validator;
using Npgsql;

namespace Kannon.Tests.Dispatcher;

/// <summary>Claims held as row locks in an open transaction (ADR 0018), on a real PostgreSQL.</summary>
public sealed class HeldClaimTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly TimeSpan Hold = TimeSpan.FromMinutes(2);

    private DispatchPool Dispatch => new(postgres.DataSource);

    [Fact]
    public async Task Two_claims_never_hold_the_same_delivery_and_a_claim_given_up_leaves_its_rows_as_they_were()
    {
        var batch = await InsertAsync("scheduled", 10);

        var first = await Dispatch.ClaimDueAsync(6, Hold, default);
        await using (var second = await Dispatch.ClaimDueAsync(100, Hold, default))
        {
            first.Rows.Select(r => r.Id).Should().HaveCount(6).And.NotIntersectWith(second.Rows.Select(r => r.Id));
            second.Rows.Where(r => r.BatchId == batch).Should().HaveCount(4);
        }

        await first.DisposeAsync();

        (await StatesAsync(batch)).Should().HaveCount(10).And.AllBeEquivalentTo(("scheduled", 0, false), "a claim writes nothing");
        await using var third = await Dispatch.ClaimDueAsync(100, Hold, default);
        third.Rows.Where(r => r.BatchId == batch).Should().HaveCount(10);
    }

    [Fact]
    public async Task The_rows_of_a_claim_whose_process_died_are_free_at_once()
    {
        var batch = await InsertAsync("to_validate", 3);
        var validation = new ValidationPool(postgres.DataSource);
        var dying = await validation.ClaimAsync(100, Hold, default);
        dying.Rows.Where(r => r.BatchId == batch).Should().HaveCount(3);

        // What kill -9 of the holder does to its session.
        await TerminateAsync(dying.Connection.ProcessID);

        await using var survivor = await validation.ClaimAsync(100, Hold, default);
        survivor.Rows.Where(r => r.BatchId == batch).Should().HaveCount(3);
        await dying.DisposeAsync();
    }

    [Fact]
    public async Task PostgreSQL_ends_a_claim_held_past_its_hold_and_its_commit_fails()
    {
        var batch = await InsertAsync("scheduled", 2);
        var hung = await Dispatch.ClaimDueAsync(100, TimeSpan.FromMilliseconds(300), default);
        hung.Rows.Where(r => r.BatchId == batch).Should().HaveCount(2);

        var rows = await Eventually.ReturnsAsync(async () =>
        {
            await using var other = await Dispatch.ClaimDueAsync(100, Hold, default);
            return other.Rows.Count(r => r.BatchId == batch);
        }, n => n == 2, TimeSpan.FromSeconds(30), "the idle claim's session is ended");

        rows.Should().Be(2);
        var commit = async () => await hung.CommitAsync(default);
        await commit.Should().ThrowAsync<Exception>().Where(e => e is NpgsqlException || e is InvalidOperationException);
        await hung.DisposeAsync();
        (await StatesAsync(batch)).Should().AllBeEquivalentTo(("scheduled", 0, false));
    }

    [Fact]
    public async Task An_error_outcome_about_a_held_delivery_waits_for_the_commit_and_then_finds_it_sending()
    {
        var batch = await InsertAsync("scheduled", 1);
        await using var claim = await Dispatch.ClaimDueAsync(100, Hold, default);
        var row = claim.Rows.Single(r => r.BatchId == batch);

        // The Sender was quicker than the Dispatcher's commit.
        var find = Dispatch.FindSendingAsync([(row.Email, batch)], default);
        await Eventually.HoldsAsync(async () => await WaitingOnLocksAsync() > 0, TimeSpan.FromSeconds(30), "the lookup waits for the claim");
        await Dispatch.MarkSendingAsync([row.Id], claim.Connection, default);
        await claim.CommitAsync(default);

        (await find).Should().ContainSingle(r => r.Id == row.Id, "read after the commit, the Delivery is sending");
    }

    // The only rows in the Pool: claims take any due row, so an earlier test's rows would get in the way.
    private async Task<string> InsertAsync(string status, int count)
    {
        var batch = $"msg_{Guid.NewGuid():N}@held.example";
        await using (var clear = postgres.DataSource.CreateCommand("DELETE FROM sending_pool_emails"))
        {
            await clear.ExecuteNonQueryAsync();
        }

        await using var command = postgres.DataSource.CreateCommand(
            "INSERT INTO sending_pool_emails (email, message_id, domain, status, original_scheduled_time, scheduled_time) " +
            "SELECT 'r' || i || '@held.example', $1, 'held.example', $2, now(), now() - interval '1 second' FROM generate_series(1, $3) i");
        command.Parameters.Add(new NpgsqlParameter { Value = batch });
        command.Parameters.Add(new NpgsqlParameter { Value = status });
        command.Parameters.Add(new NpgsqlParameter { Value = count });
        await command.ExecuteNonQueryAsync();
        return batch;
    }

    private async Task<List<(string Status, int Attempts, bool Claimed)>> StatesAsync(string batch)
    {
        await using var command = postgres.DataSource.CreateCommand(
            "SELECT status, send_attempts_cnt, claimed_at IS NOT NULL FROM sending_pool_emails WHERE message_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = batch });
        var rows = new List<(string, int, bool)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetInt32(1), reader.GetBoolean(2)));
        }

        return rows;
    }

    private async Task TerminateAsync(int pid)
    {
        await using var command = postgres.DataSource.CreateCommand("SELECT pg_terminate_backend($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = pid });
        await command.ExecuteNonQueryAsync();
    }

    private async Task<long> WaitingOnLocksAsync()
    {
        await using var command = postgres.DataSource.CreateCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
