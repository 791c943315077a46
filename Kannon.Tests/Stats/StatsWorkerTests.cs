using Google.Protobuf.WellKnownTypes;
using Kannon.Hosting;
using Kannon.Messaging;
using Kannon.Protos.Stats.ApiV1;
using Kannon.Protos.Stats.ApiV2;
using Kannon.Protos.Stats.Types;
using Kannon.Stats;
using Kannon.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Tests.Stats;

public sealed class StatsWorkerTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private KannonTestHost _host = null!;
    private StatsPublisher _publisher = null!;

    public async Task InitializeAsync()
    {
        _host = await KannonTestHost.StartAsync(new Roles(Api: true, Stats: true), KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url));
        await _host.Services.GetRequiredService<TopologyProvisioner>().EnsureAsync(CancellationToken.None);
        _publisher = new StatsPublisher(nats.Url);
    }

    public async Task DisposeAsync()
    {
        await _publisher.DisposeAsync();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task Published_outcomes_become_rows_that_GetStats_pages_newest_first_with_their_hourly_counts()
    {
        var domain = AdminClients.NewDomainName("stats");
        var start = HourStart(DateTimeOffset.UtcNow.AddHours(-5));
        var events = MixedOutcomes(domain, start, count: 12);

        await _publisher.PublishAllAsync(events);
        await Eventually.ReturnsAsync(() => RowsAsync(domain), n => n == 12, because: "every event becomes a row");

        var v1 = _host.StatsV1();
        var range = new { From = Timestamp.FromDateTimeOffset(start), To = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(1)) };
        var pages = new List<GetStatsRes>();
        for (uint skip = 0; skip < 15; skip += 5)
        {
            pages.Add(await v1.GetStatsAsync(new GetStatsReq { Domain = domain, FromDate = range.From, ToDate = range.To, Skip = skip, Take = 5 }));
        }

        pages.Select(p => p.Total).Should().AllBeEquivalentTo(12L);
        pages.Select(p => p.Stats.Count).Should().Equal(5, 5, 2);
        var listed = pages.SelectMany(p => p.Stats).ToList();
        listed.Select(s => s.Timestamp.ToDateTimeOffset()).Should().BeInDescendingOrder();
        listed.Select(s => (s.Email, s.Type)).Should().BeEquivalentTo(events.Select(e => (e.Email, Outcomes.TypeOf(e))));
        listed.Should().OnlyContain(s => s.Domain == domain && s.MessageId.Length > 0 && s.Type.Length > 0);
        listed.Should().OnlyContain(s => s.Data.DataCase.ToString().Equals(s.Type, StringComparison.OrdinalIgnoreCase));
        var bounce = listed.First(s => s.Type == StatTypes.Bounced);
        bounce.Data.Bounced.Should().BeEquivalentTo(new StatsDataBounced { Permanent = true, Code = 550, Msg = "5.1.1 no such user" });
        (await DataOfAsync(domain, StatTypes.Bounced)).Should().Be("""{"bounced": {"msg": "5.1.1 no such user", "code": 550, "permanent": true}}""");
        (await DataOfAsync(domain, StatTypes.Delivered)).Should().Be("""{"delivered": {}}""");

        var expected = events
            .GroupBy(e => (Hour: HourStart(e.Timestamp.ToDateTimeOffset()), Type: Outcomes.TypeOf(e)))
            .OrderBy(g => g.Key.Hour).ThenBy(g => g.Key.Type, StringComparer.Ordinal)
            .Select(g => (g.Key.Hour, g.Key.Type, (long)g.Count()))
            .ToList();
        expected.Select(e => e.Hour).Distinct().Should().HaveCountGreaterThan(1, "the events span several hours");
        var kept = await _host.StatsV2().GetAggregatedStatsAsync(new GetAggregatedStatsReq { Domain = domain, FromDate = range.From, ToDate = range.To });
        kept.Stats.Select(Bucket).Should().Equal(expected);
        var computed = await v1.GetStatsAggregatedAsync(new GetStatsAggregatedReq { Domain = domain, FromDate = range.From, ToDate = range.To });
        computed.Stats.Select(Bucket).Should().Equal(expected);
    }

    [Fact]
    public async Task The_type_comes_from_the_payload_not_the_subject()
    {
        var domain = AdminClients.NewDomainName("stats");
        var delivered = Outcomes.Delivered("msg_1@" + domain, "ann@example.org", domain, DateTimeOffset.UtcNow.AddMinutes(-1));

        await _publisher.PublishAsync(delivered, Subjects.Stats(StatTypes.Accepted));

        await Eventually.ReturnsAsync(() => RowsAsync(domain), n => n == 1);
        (await ScalarAsync<string>("SELECT type FROM stats WHERE domain = $1", domain)).Should().Be(StatTypes.Delivered);
    }

    [Fact]
    public async Task Publishing_the_same_events_five_more_times_changes_neither_rows_nor_counts()
    {
        var domain = AdminClients.NewDomainName("dup");
        var events = MixedOutcomes(domain, HourStart(DateTimeOffset.UtcNow.AddHours(-5)), count: 10);
        await _publisher.PublishAllAsync(events);
        await Eventually.ReturnsAsync(() => RowsAsync(domain), n => n == 10);
        await _publisher.DrainedAsync();
        var counts = await AggregatedAsync(domain);
        counts.Values.Sum().Should().Be(10);

        for (var round = 0; round < 5; round++)
        {
            await _publisher.PublishAllAsync(events);
        }

        // A last event of another domain: once it is stored and the consumer is drained, every repeat was handled.
        var other = AdminClients.NewDomainName("dup-end");
        await _publisher.PublishAsync(Outcomes.Accepted("msg_end@" + other, "end@example.org", other, DateTimeOffset.UtcNow));
        await Eventually.ReturnsAsync(() => RowsAsync(other), n => n == 1);
        await _publisher.DrainedAsync();

        (await RowsAsync(domain)).Should().Be(10);
        (await AggregatedAsync(domain)).Should().Equal(counts);
    }

    [Fact]
    public async Task Garbage_and_unusable_events_are_terminated_and_the_next_event_is_still_recorded()
    {
        var domain = AdminClients.NewDomainName("bad");
        var at = DateTimeOffset.UtcNow.AddMinutes(-1);
        await _publisher.PublishRawAsync(Subjects.Stats(StatTypes.Accepted), "not protobuf"u8.ToArray());
        await _publisher.PublishAsync(Outcomes.Accepted("msg_nodomain@" + domain, "a@example.org", "", at), Subjects.Stats(StatTypes.Accepted));
        await _publisher.PublishAsync(Outcomes.Accepted("", "b@example.org", domain, at), Subjects.Stats(StatTypes.Accepted));
        await _publisher.PublishAsync(Outcomes.Accepted("msg_upper@" + domain, "c@example.org", domain.ToUpperInvariant(), at), Subjects.Stats(StatTypes.Accepted));
        await _publisher.PublishAsync(new StatsEvent { MessageId = "msg_nodata@" + domain, Email = "d@example.org", Domain = domain, Timestamp = Timestamp.FromDateTimeOffset(at) },
            Subjects.Stats(StatTypes.Accepted));
        await _publisher.PublishAsync(Outcomes.Accepted("msg_long@" + domain, new string('e', 321), domain, at), Subjects.Stats(StatTypes.Accepted));
        await _publisher.PublishAsync(Outcomes.Rejected("msg_nul@" + domain, "f@example.org", domain, at, "bad\0reason"), Subjects.Stats(StatTypes.Rejected));
        var good = Outcomes.Accepted("msg_good@" + domain, "good@example.org", domain, at);
        await _publisher.PublishAsync(good);

        await Eventually.ReturnsAsync(() => RowsAsync(domain), n => n == 1, because: "the valid event after the bad ones is recorded");
        await _publisher.DrainedAsync();

        (await ScalarAsync<string>("SELECT message_id FROM stats WHERE domain = $1", domain)).Should().Be(good.MessageId);
        (await ScalarAsync<long>("SELECT count(*) FROM stats WHERE message_id LIKE $1", "%@" + domain)).Should().Be(1);
        var consumer = await _publisher.StatsConsumerAsync();
        consumer.NumAckPending.Should().Be(0, "terminated messages are not waiting for redelivery");
    }

    [Fact]
    public async Task An_event_without_a_timestamp_is_stored_at_the_time_jetstream_stored_it()
    {
        var domain = AdminClients.NewDomainName("nots");
        var stat = Outcomes.Accepted("msg_1@" + domain, "ann@example.org", domain, DateTimeOffset.UtcNow);
        stat.Timestamp = null;
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);

        await _publisher.PublishAsync(stat);

        await Eventually.ReturnsAsync(() => RowsAsync(domain), n => n == 1);
        (await ScalarAsync<DateTimeOffset>("SELECT timestamp FROM stats WHERE domain = $1", domain))
            .Should().BeAfter(before).And.BeBefore(DateTimeOffset.UtcNow.AddSeconds(5));
    }

    /// <summary>Every outcome kind in turn, one every 20 minutes from <paramref name="start"/>, each for its own recipient.</summary>
    internal static List<StatsEvent> MixedOutcomes(string domain, DateTimeOffset start, int count)
    {
        var batch = $"msg_{Guid.NewGuid():N}@{domain}";
        var makers = new Func<string, DateTimeOffset, StatsEvent>[]
        {
            (email, at) => Outcomes.Accepted(batch, email, domain, at),
            (email, at) => Outcomes.Delivered(batch, email, domain, at),
            (email, at) => Outcomes.Bounced(batch, email, domain, at, permanent: true, 550, "5.1.1 no such user"),
            (email, at) => Outcomes.Opened(batch, email, domain, at, "Mozilla/5.0", "192.0.2.1"),
            (email, at) => Outcomes.Clicked(batch, email, domain, at, "Mozilla/5.0", "192.0.2.1", "https://example.org/a"),
            (email, at) => Outcomes.Error(batch, email, domain, at, 421, "try later"),
            (email, at) => Outcomes.Rejected(batch, email, domain, at, "invalid_email"),
            (email, at) => Outcomes.Failed(batch, email, domain, at, "retry budget exhausted"),
        };
        return Enumerable.Range(0, count)
            .Select(i => makers[i % makers.Length]($"r{i}@example.org", start.AddMinutes(20 * i)))
            .ToList();
    }

    private static DateTimeOffset HourStart(DateTimeOffset at) =>
        new(at.UtcDateTime.Year, at.UtcDateTime.Month, at.UtcDateTime.Day, at.UtcDateTime.Hour, 0, 0, TimeSpan.Zero);

    private static (DateTimeOffset, string, long) Bucket(StatsAggregated s) => (s.Timestamp.ToDateTimeOffset(), s.Type, s.Count);

    private Task<long> RowsAsync(string domain) => ScalarAsync<long>("SELECT count(*) FROM stats WHERE domain = $1", domain);

    private async Task<string> DataOfAsync(string domain, string type)
    {
        await using var command = postgres.DataSource.CreateCommand("SELECT data::text FROM stats WHERE domain = $1 AND type = $2 LIMIT 1");
        command.Parameters.Add(new NpgsqlParameter { Value = domain });
        command.Parameters.Add(new NpgsqlParameter { Value = type });
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private async Task<Dictionary<(DateTimeOffset, string), long>> AggregatedAsync(string domain)
    {
        await using var command = postgres.DataSource.CreateCommand("SELECT timestamp, type, count FROM aggregated_stats WHERE domain = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = domain });
        await using var reader = await command.ExecuteReaderAsync();
        var counts = new Dictionary<(DateTimeOffset, string), long>();
        while (await reader.ReadAsync())
        {
            counts[(reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1))] = reader.GetInt64(2);
        }

        return counts;
    }

    private async Task<T> ScalarAsync<T>(string sql, string value)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = value });
        await using var reader = await command.ExecuteReaderAsync();
        (await reader.ReadAsync()).Should().BeTrue(sql);
        return reader.GetFieldValue<T>(0);
    }
}
