using Kannon.Suppression;
using Kannon.Tests.Infrastructure;

namespace Kannon.Tests.Suppression;

public sealed class SuppressionListTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    private SuppressionList List => new(postgres.DataSource);

    private async Task<string> NewDomainAsync()
    {
        var domain = AdminClients.NewDomainName("suppress");
        await using var insert = postgres.DataSource.CreateCommand("INSERT INTO domains (domain) VALUES ($1)");
        insert.Parameters.AddWithValue(domain);
        await insert.ExecuteNonQueryAsync();
        return domain;
    }

    private static SuppressionEvidence Evidence(string domain, string email, string reason, string status, DateTimeOffset at) =>
        new(domain, email, reason, status, $"diagnostic {status}", "msg_1@" + domain, "mx.example.net", at);

    [Fact]
    public async Task The_first_evidence_wins_and_a_redelivered_event_changes_nothing()
    {
        var domain = await NewDomainAsync();

        (await List.AddAsync([Evidence(domain, "ann@example.org", SuppressionReason.HardBounce, "5.1.1", At)], CancellationToken.None)).Should().Be(1);
        (await List.AddAsync([Evidence(domain, "ann@example.org", SuppressionReason.HardBounce, "5.1.1", At)], CancellationToken.None)).Should().Be(0);
        (await List.AddAsync([Evidence(domain, "ann@EXAMPLE.org", SuppressionReason.Complaint, "", At.AddHours(1))], CancellationToken.None)).Should().Be(0);

        var row = await List.FindAsync(domain, "ann@example.org", CancellationToken.None);
        row!.Reason.Should().Be(SuppressionReason.HardBounce);
        row.StatusCode.Should().Be("5.1.1");
        row.ObservedAt.Should().Be(At);
    }

    [Fact]
    public async Task One_batch_may_name_an_address_twice_and_a_domain_that_no_longer_exists()
    {
        var domain = await NewDomainAsync();

        var added = await List.AddAsync(
        [
            Evidence(domain, "bob@example.org", SuppressionReason.Complaint, "", At.AddMinutes(5)),
            Evidence(domain, "bob@example.org", SuppressionReason.HardBounce, "5.1.1", At),
            Evidence("gone.example", "bob@example.org", SuppressionReason.HardBounce, "5.1.1", At),
        ], CancellationToken.None);

        added.Should().Be(1, "one row per address, none for a Domain that is not there");
        (await List.FindAsync(domain, "bob@example.org", CancellationToken.None))!.Reason.Should().Be(SuppressionReason.HardBounce, "the earliest evidence");
    }

    [Fact]
    public async Task Intake_finds_the_suppressed_among_many_addresses_in_one_query()
    {
        var domain = await NewDomainAsync();
        var other = await NewDomainAsync();
        await List.AddAsync([Evidence(domain, "c1@example.org", SuppressionReason.Manual, "", At), Evidence(other, "c2@example.org", SuppressionReason.Manual, "", At)],
            CancellationToken.None);
        var emails = Enumerable.Range(0, 10_000).Select(i => $"c{i}@Example.org").ToList();

        await using var connection = await postgres.DataSource.OpenConnectionAsync();
        var suppressed = await SuppressionList.QueryAmongAsync(connection, domain, emails, CancellationToken.None);

        suppressed.Should().Equal("c1@example.org");
    }
}
