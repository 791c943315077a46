using Kannon.Domains;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kannon.Data;

internal sealed class DomainMapping : IEntityTypeConfiguration<Domain>
{
    public void Configure(EntityTypeBuilder<Domain> domain)
    {
        domain.ToTable("domains");
        domain.HasKey(d => d.Id);
        domain.HasAlternateKey(d => d.Name);

        domain.Property(d => d.Id).HasColumnName("id");
        domain.Property(d => d.Name).HasColumnName("domain");
        domain.Property(d => d.CreatedAt).HasColumnName("created_at").HasDefaultValueSql("now()");
        domain.Property(d => d.Tracking).HasColumnName("tracking").IsTrackingJsonb();
        domain.Property(d => d.Unsubscribe).HasColumnName("unsubscribe");
    }
}
