using Kannon.Suppression;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kannon.Data;

internal sealed class SuppressionRemovalMapping : IEntityTypeConfiguration<SuppressionRemoval>
{
    public void Configure(EntityTypeBuilder<SuppressionRemoval> removal)
    {
        removal.ToTable("suppression_removals");
        removal.HasKey(r => r.Id);

        removal.Property(r => r.Id).HasColumnName("id");
        removal.Property(r => r.Domain).HasColumnName("domain");
        removal.Property(r => r.Email).HasColumnName("email");
        removal.Property(r => r.Reason).HasColumnName("reason");
        removal.Property(r => r.Note).HasColumnName("note");
        removal.Property(r => r.RemovedAt).HasColumnName("removed_at").HasDefaultValueSql("now()");
    }
}
