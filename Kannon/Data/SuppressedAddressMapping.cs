using Kannon.Suppression;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kannon.Data;

internal sealed class SuppressedAddressMapping : IEntityTypeConfiguration<SuppressedAddress>
{
    public void Configure(EntityTypeBuilder<SuppressedAddress> suppression)
    {
        suppression.ToTable("suppressions");
        suppression.HasKey(s => new { s.Domain, s.Email });

        suppression.Property(s => s.Domain).HasColumnName("domain");
        suppression.Property(s => s.Email).HasColumnName("email");
        suppression.Property(s => s.Reason).HasColumnName("reason");
        suppression.Property(s => s.StatusCode).HasColumnName("status_code");
        suppression.Property(s => s.Diagnostic).HasColumnName("diagnostic");
        suppression.Property(s => s.MessageId).HasColumnName("message_id");
        suppression.Property(s => s.Source).HasColumnName("source");
        suppression.Property(s => s.Note).HasColumnName("note");
        suppression.Property(s => s.ObservedAt).HasColumnName("observed_at").HasDefaultValueSql("now()");
        suppression.Property(s => s.CreatedAt).HasColumnName("created_at").HasDefaultValueSql("now()");
    }
}
