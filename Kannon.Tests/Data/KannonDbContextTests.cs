using Kannon.Tests.Infrastructure;
using System.Text.Json.Nodes;
using Kannon.ApiKeys;
using Kannon.Data;
using Kannon.Dkim;
using Kannon.Domains;
using Kannon.Pool;
using Kannon.Stats;
using Kannon.Templates;
using Kannon.Tracking;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Kannon.Tests.Data;


public sealed class KannonDbContextTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    // Whole microseconds: PostgreSQL keeps no finer precision than that.
    private static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 3, 1, 12, 30, 0, TimeSpan.Zero).AddTicks(1_234_560);

    private NpgsqlDataSource _dataSource = null!;

    public async Task InitializeAsync()
    {
        _dataSource = NpgsqlDataSource.Create(await postgres.CreateEmptyDatabaseAsync());
        await new MigrationRunner(_dataSource, NullLogger<MigrationRunner>.Instance).ApplyAsync(CancellationToken.None);
    }

    public async Task DisposeAsync() => await _dataSource.DisposeAsync();

    [Fact]
    public async Task Every_entity_survives_a_round_trip()
    {
        var domain = new Domain
        {
            Name = "example.com",
            CreatedAt = T0,
            Tracking = new TrackingPolicy("anonymous", "full"),
            Unsubscribe = UnsubscribeMode.Off,
        };
        var dkimKey = new DkimKey
        {
            Domain = "example.com",
            Selector = "k2026",
            Algorithm = DkimAlgorithm.Ed25519Sha256,
            PrivateKey = "cHJpdmF0ZQ==",
            PublicKey = "cHVibGlj",
            CreatedAt = T0,
            RetiredAt = T0.AddDays(1),
        };
        var apiKey = new ApiKey
        {
            Id = "key_abc",
            Name = "ci",
            Domain = "example.com",
            CreatedAt = T0,
            ExpiresAt = T0.AddDays(30),
            IsActive = false,
            DeactivatedAt = T0.AddDays(2),
            KeyHash = new string('a', 64),
            KeyPrefix = "k_abcdef",
        };
        var template = new Template
        {
            TemplateId = "template_1@example.com",
            Html = "<p>Hi {{ name }}</p>",
            Domain = "example.com",
            Type = TemplateType.Template,
            Title = "Welcome",
            CreatedAt = T0,
            UpdatedAt = T0.AddMinutes(1),
            DeletedAt = T0.AddMinutes(2),
        };
        var batch = new Batch
        {
            MessageId = "msg_1@example.com",
            Subject = "Hello {{ name }}",
            SenderEmail = "news@example.com",
            SenderAlias = "News",
            TemplateId = template.TemplateId,
            Domain = "example.com",
            Headers = """{"to": ["a@example.org"], "cc": null}""",
            Tracking = new TrackingPolicy("off", null),
            CreatedAt = T0,
            Attachments = { new BatchAttachment { Filename = "a.txt", Content = [1, 2, 3] } },
        };
        var delivery = new Delivery
        {
            ScheduledTime = T0.AddHours(1),
            OriginalScheduledTime = T0,
            SendAttemptsCount = 2,
            Email = "a@example.org",
            MessageId = batch.MessageId,
            Fields = new() { ["name"] = "Ada", ["city"] = "Pisa" },
            Status = DeliveryStatus.Dispatching,
            CreatedAt = T0,
            Domain = "example.com",
            Tracking = new TrackingPolicy("pseudonymous", "identified"),
            ClaimedAt = T0.AddMinutes(3),
        };
        var statEvent = new StatEvent
        {
            Type = "bounced",
            Email = "a@example.org",
            MessageId = batch.MessageId,
            Domain = "example.com",
            Timestamp = T0,
            Data = """{"bounced": {"code": 550, "msg": "no such user", "permanent": true}}""",
        };
        var aggregatedStat = new AggregatedStat { Domain = "example.com", Timestamp = T0.AddMinutes(-30), Type = "bounced", Count = 42 };
        var statsKey = new StatsKey
        {
            Id = "key_stats",
            Algorithm = "HS256",
            Secret = "c2VjcmV0",
            CreationTime = T0,
            ExpirationTime = T0.AddDays(180),
        };

        await using (var context = Context())
        {
            // Deliberately in reverse dependency order: EF Core must order the inserts by the foreign keys.
            context.AddRange(statsKey, aggregatedStat, statEvent, delivery, batch, template, apiKey, dkimKey, domain);
            await context.SaveChangesAsync();
        }

        await using var read = Context();
        (await read.Domains.SingleAsync()).Should().BeEquivalentTo(domain);
        (await read.DkimKeys.SingleAsync()).Should().BeEquivalentTo(dkimKey);
        (await read.ApiKeys.SingleAsync()).Should().BeEquivalentTo(apiKey);
        (await read.Templates.SingleAsync()).Should().BeEquivalentTo(template);
        var readBatch = await read.Batches.Include(b => b.Attachments).SingleAsync();
        readBatch.Should().BeEquivalentTo(batch, o => o.Excluding(b => b.Headers));
        ShouldBeSameJson(readBatch.Headers, batch.Headers);
        (await read.BatchAttachments.SingleAsync()).MessageId.Should().Be(batch.MessageId);
        (await read.Deliveries.SingleAsync()).Should().BeEquivalentTo(delivery);
        var readStatEvent = await read.StatEvents.SingleAsync();
        readStatEvent.Should().BeEquivalentTo(statEvent, o => o.Excluding(s => s.Data));
        ShouldBeSameJson(readStatEvent.Data, statEvent.Data);
        (await read.AggregatedStats.SingleAsync()).Should().BeEquivalentTo(aggregatedStat);
        (await read.StatsKeys.SingleAsync()).Should().BeEquivalentTo(statsKey);
    }

    [Fact]
    public async Task Database_defaults_fill_what_the_caller_leaves_out()
    {
        await using (var context = Context())
        {
            context.Domains.Add(new Domain { Name = "example.com" });
            await context.SaveChangesAsync();
        }

        await using var read = Context();
        var domain = await read.Domains.SingleAsync();
        domain.CreatedAt.Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        domain.Tracking.Should().Be(TrackingPolicy.Default);
        domain.Unsubscribe.Should().Be(UnsubscribeMode.Hosted);
    }

    [Fact]
    public async Task A_change_inside_delivery_fields_is_saved()
    {
        await SeedBatchAsync();
        await using (var context = Context())
        {
            context.Deliveries.Add(NewDelivery("a@example.org"));
            await context.SaveChangesAsync();
        }

        await using (var context = Context())
        {
            var delivery = await context.Deliveries.SingleAsync();
            delivery.Fields["name"] = "Grace";
            await context.SaveChangesAsync();
        }

        await using var read = Context();
        (await read.Deliveries.SingleAsync()).Fields.Should().Equal(new Dictionary<string, string> { ["name"] = "Grace" });
    }

    [Fact]
    public async Task A_template_used_by_a_batch_cannot_be_deleted()
    {
        await SeedBatchAsync();
        await using var context = Context();
        context.Templates.Remove(await context.Templates.SingleAsync());

        var save = () => context.SaveChangesAsync();

        (await save.Should().ThrowAsync<DbUpdateException>())
            .WithInnerException<PostgresException>()
            .Which.ConstraintName.Should().Be("messages_template_id_fkey");
        await using var read = Context();
        (await read.Templates.CountAsync()).Should().Be(1);
        // PostgreSQL reports RESTRICT and NO ACTION with the same error code; only the catalog tells them apart.
        var onDelete = await Schema.ReadAsync(
            _dataSource,
            "SELECT confdeltype::text FROM pg_constraint WHERE conname = 'messages_template_id_fkey'",
            r => r.GetString(0));
        onDelete.Should().Equal("r");
    }

    [Fact]
    public async Task Every_mapped_property_has_a_matching_column_in_the_migrated_schema()
    {
        var columns = (await Schema.ColumnsAsync(_dataSource)).ToDictionary(c => (c.Table, c.Column));
        await using var context = Context();

        foreach (var entity in context.Model.GetEntityTypes())
        {
            var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
            foreach (var property in entity.GetProperties())
            {
                var name = $"{entity.ClrType.Name}.{property.Name}";
                var column = property.GetColumnName(table)!;
                columns.TryGetValue((table.Name, column), out var actual)
                    .Should().BeTrue($"{name} maps to {table.Name}.{column}, which should exist");
                TypeFamily(property.GetColumnType()).Should().Be(TypeFamily(actual!.DataType), $"{name} maps to {actual}");
                property.IsColumnNullable(table).Should().Be(actual.IsNullable, $"{name} maps to {actual}");
            }
        }
    }

    [Fact]
    public async Task Every_column_of_the_migrated_schema_is_mapped()
    {
        await using var context = Context();
        var mapped = context.Model.GetEntityTypes()
            .SelectMany(e => e.GetProperties().Select(p => (e.GetTableName()!, p.GetColumnName())))
            .ToHashSet();

        var unmapped = (await Schema.ColumnsAsync(_dataSource))
            .Where(c => c.Table != "kannon_migrations" && !mapped.Contains((c.Table, c.Column)))
            .Select(c => $"{c.Table}.{c.Column}");

        unmapped.Should().BeEmpty();
    }

    private KannonDbContext Context() =>
        new(new DbContextOptionsBuilder<KannonDbContext>().UseNpgsql(_dataSource).Options);

    private async Task SeedBatchAsync()
    {
        await using var context = Context();
        context.Domains.Add(new Domain { Name = "example.com" });
        context.Templates.Add(new Template { TemplateId = "template_1@example.com", Html = "<p/>", Domain = "example.com" });
        context.Batches.Add(new Batch
        {
            MessageId = "msg_1@example.com",
            Subject = "Hello",
            SenderEmail = "news@example.com",
            SenderAlias = "News",
            TemplateId = "template_1@example.com",
            Domain = "example.com",
        });
        await context.SaveChangesAsync();
    }

    private static Delivery NewDelivery(string email) => new()
    {
        Email = email,
        MessageId = "msg_1@example.com",
        Domain = "example.com",
        OriginalScheduledTime = T0,
        Fields = new() { ["name"] = "Ada" },
    };

    // jsonb reorders keys and whitespace, so raw json comes back equal in meaning, not in text.
    private static void ShouldBeSameJson(string actual, string expected) =>
        JsonNode.DeepEquals(JsonNode.Parse(actual), JsonNode.Parse(expected))
            .Should().BeTrue($"{actual} should mean {expected}");

    // varchar(n) and text are both strings to EF Core; a mismatch between them is harmless.
    private static string TypeFamily(string columnType)
    {
        var bare = columnType.Split('(')[0].Trim();
        return bare is "text" or "character varying" or "character" ? "string" : bare;
    }
}
