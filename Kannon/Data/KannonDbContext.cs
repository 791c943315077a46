using Kannon.ApiKeys;
using Kannon.Dkim;
using Kannon.Domains;
using Kannon.Pool;
using Kannon.Stats;
using Kannon.Templates;
using Kannon.Suppression;
using Microsoft.EntityFrameworkCore;

namespace Kannon.Data;

/// <summary>
/// Maps the schema that <c>migrations/*.sql</c> creates; EF Core never creates or alters tables.
/// </summary>
internal sealed class KannonDbContext(DbContextOptions<KannonDbContext> options) : DbContext(options)
{
    public DbSet<Domain> Domains => Set<Domain>();

    public DbSet<DkimKey> DkimKeys => Set<DkimKey>();

    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();

    public DbSet<Template> Templates => Set<Template>();

    public DbSet<Batch> Batches => Set<Batch>();

    public DbSet<BatchAttachment> BatchAttachments => Set<BatchAttachment>();

    public DbSet<Delivery> Deliveries => Set<Delivery>();

    public DbSet<StatEvent> StatEvents => Set<StatEvent>();

    public DbSet<AggregatedStat> AggregatedStats => Set<AggregatedStat>();

    public DbSet<StatsKey> StatsKeys => Set<StatsKey>();

    public DbSet<SuppressedAddress> Suppressions => Set<SuppressedAddress>();

    public DbSet<SuppressionRemoval> SuppressionRemovals => Set<SuppressionRemoval>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.UseSerialColumns();

        modelBuilder.ApplyConfiguration(new DomainMapping());
        modelBuilder.ApplyConfiguration(new DkimKeyMapping());
        modelBuilder.ApplyConfiguration(new ApiKeyMapping());
        modelBuilder.ApplyConfiguration(new TemplateMapping());
        modelBuilder.ApplyConfiguration(new BatchMapping());
        modelBuilder.ApplyConfiguration(new BatchAttachmentMapping());
        modelBuilder.ApplyConfiguration(new DeliveryMapping());
        modelBuilder.ApplyConfiguration(new StatEventMapping());
        modelBuilder.ApplyConfiguration(new AggregatedStatMapping());
        modelBuilder.ApplyConfiguration(new StatsKeyMapping());
        modelBuilder.ApplyConfiguration(new SuppressedAddressMapping());
        modelBuilder.ApplyConfiguration(new SuppressionRemovalMapping());
    }
}
