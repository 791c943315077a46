using Kannon.Stats;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kannon.Data;

internal sealed class AggregatedStatMapping : IEntityTypeConfiguration<AggregatedStat>
{
    public void Configure(EntityTypeBuilder<AggregatedStat> stat)
    {
        stat.ToTable("aggregated_stats");
        stat.HasKey(s => new { s.Domain, s.Timestamp, s.Type });

        stat.Property(s => s.Domain).HasColumnName("domain");
        stat.Property(s => s.Timestamp).HasColumnName("timestamp");
        stat.Property(s => s.Type).HasColumnName("type");
        stat.Property(s => s.Count).HasColumnName("count");
    }
}
