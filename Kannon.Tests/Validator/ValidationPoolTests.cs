using Kannon.Tests.Infrastructure;
using Kannon.Validator;
using Npgsql;

namespace Kannon.Tests.Validator;

/// <summary>
/// The Validator's batch transaction (ADR 0020) on a real PostgreSQL: rows stay locked while outcomes are published,
/// a second Validator skips them, a failed publish changes nothing, and a settled batch is scheduled or gone.
/// </summary>
public sealed class ValidationPoolTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    private readonly string _domain = $"v{Guid.NewGuid():N}"[..12] + ".example.com";
    private string Batch => $"msg_validation@{_domain}";

    public async Task InitializeAsync()
    {
        await ExecuteAsync($"""
            INSERT INTO domains (domain) VALUES ('{_domain}');
            INSERT INTO templates (template_id, html, domain) VALUES ('template_v@{_domain}', '<p>x</p>', '{_domain}');
            INSERT INTO messages (message_id, subject, sender_email, sender_alias, template_id, domain)
                VALUES ('{Batch}', 's', 'a@{_domain}', 'A', 'template_v@{_domain}', '{_domain}');
            """);
    }

    public Task DisposeAsync() => ExecuteAsync($"DELETE FROM sending_pool_emails WHERE domain = '{_domain}'");

    [Fact]
    public async Task A_batch_being_judged_is_locked_from_a_second_validator_and_settled_in_one_transaction()
    {
        var good = await InsertAsync("good@example.org");
        var bad = await InsertAsync("bad@example.org");
        var pool = new ValidationPool(postgres.DataSource);
        var judging = new TaskCompletionSource();
        var release = new TaskCompletionSource<ValidationPool.Verdict>(TaskCreationOptions.RunContinuationsAsynchronously);

        var first = pool.ValidateBatchAsync(100, TimeSpan.FromMinutes(1), claimed =>
        {
            claimed.Select(c => c.Id).Should().Contain([good, bad]);
            judging.SetResult();
            return release.Task;
        }, CancellationToken.None);
        await judging.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var seenBySecond = new List<long>();
        await pool.ValidateBatchAsync(100, TimeSpan.FromMinutes(1), claimed =>
        {
            seenBySecond.AddRange(claimed.Select(c => c.Id));
            return Task.FromResult(new ValidationPool.Verdict([], []));
        }, CancellationToken.None);
        seenBySecond.Should().NotContain([good, bad], "the first Validator holds them");
        (await StatusAsync(good)).Should().Be("to_validate", "nothing is written before the verdict");

        release.SetResult(new ValidationPool.Verdict([good], [bad]));
        (await first).Should().BeGreaterThanOrEqualTo(2);

        (await StatusAsync(good)).Should().Be("scheduled");
        (await StatusAsync(bad)).Should().BeNull("an invalid Delivery leaves the Pool");
    }

    [Fact]
    public async Task A_judge_that_could_not_publish_leaves_the_batch_as_it_was_for_the_next_cycle()
    {
        var id = await InsertAsync("again@example.org");
        var pool = new ValidationPool(postgres.DataSource);

        var failing = () => pool.ValidateBatchAsync(100, TimeSpan.FromMinutes(1),
            _ => Task.FromException<ValidationPool.Verdict>(new InvalidOperationException("publish refused")), CancellationToken.None);
        await failing.Should().ThrowAsync<InvalidOperationException>();
        (await StatusAsync(id)).Should().Be("to_validate");

        var judged = new List<long>();
        await pool.ValidateBatchAsync(100, TimeSpan.FromMinutes(1), claimed =>
        {
            judged.AddRange(claimed.Select(c => c.Id));
            return Task.FromResult(new ValidationPool.Verdict(claimed.Select(c => c.Id).ToList(), []));
        }, CancellationToken.None);
        judged.Should().Contain(id, "the rolled-back batch is taken again");
        (await StatusAsync(id)).Should().Be("scheduled");
    }

    [Fact]
    public async Task PostgreSQL_ends_a_batch_left_idle_past_the_hold_limit_and_the_rows_are_free_again()
    {
        var id = await InsertAsync("frozen@example.org");
        var pool = new ValidationPool(postgres.DataSource);

        var frozen = () => pool.ValidateBatchAsync(100, TimeSpan.FromMilliseconds(300), async claimed =>
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            return new ValidationPool.Verdict(claimed.Select(c => c.Id).ToList(), []);
        }, CancellationToken.None);
        await frozen.Should().ThrowAsync<NpgsqlException>("the idle transaction was terminated");

        (await StatusAsync(id)).Should().Be("to_validate", "the frozen worker's verdict was never written");
    }

    private async Task<long> InsertAsync(string email)
    {
        await using var command = postgres.DataSource.CreateCommand(
            "INSERT INTO sending_pool_emails (email, message_id, domain, original_scheduled_time) VALUES ($1, $2, $3, now()) RETURNING id");
        command.Parameters.Add(new NpgsqlParameter { Value = email });
        command.Parameters.Add(new NpgsqlParameter { Value = Batch });
        command.Parameters.Add(new NpgsqlParameter { Value = _domain });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task<string?> StatusAsync(long id)
    {
        await using var command = postgres.DataSource.CreateCommand("SELECT status FROM sending_pool_emails WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        return (string?)await command.ExecuteScalarAsync();
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }
}
