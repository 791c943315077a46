using Kannon.Stats;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kannon.Data;

internal sealed class StatsKeyMapping : IEntityTypeConfiguration<StatsKey>
{
    public void Configure(EntityTypeBuilder<StatsKey> key)
    {
        key.ToTable("stats_keys");
        key.HasKey(k => k.Id);

        key.Property(k => k.Id).HasColumnName("id");
        key.Property(k => k.Algorithm).HasColumnName("algorithm");
        key.Property(k => k.Secret).HasColumnName("secret");
        key.Property(k => k.CreationTime).HasColumnName("creation_time").HasDefaultValueSql("now()");
        key.Property(k => k.ExpirationTime).HasColumnName("expiration_time");
    }
}
