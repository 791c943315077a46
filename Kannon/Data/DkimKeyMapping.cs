using Kannon.Dkim;
using Kannon.Domains;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kannon.Data;

internal sealed class DkimKeyMapping : IEntityTypeConfiguration<DkimKey>
{
    public void Configure(EntityTypeBuilder<DkimKey> key)
    {
        key.ToTable("dkim_keys");
        key.HasKey(k => k.Id);
        key.HasOne<Domain>().WithMany()
            .HasForeignKey(k => k.Domain).HasPrincipalKey(d => d.Name)
            .OnDelete(DeleteBehavior.Cascade);

        key.Property(k => k.Id).HasColumnName("id");
        key.Property(k => k.Domain).HasColumnName("domain");
        key.Property(k => k.Selector).HasColumnName("selector");
        key.Property(k => k.Algorithm).HasColumnName("algorithm");
        key.Property(k => k.PrivateKey).HasColumnName("private_key");
        key.Property(k => k.PublicKey).HasColumnName("public_key");
        key.Property(k => k.CreatedAt).HasColumnName("created_at").HasDefaultValueSql("now()");
        key.Property(k => k.RetiredAt).HasColumnName("retired_at");
    }
}
