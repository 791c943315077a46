using Kannon.ApiKeys;
using Kannon.Domains;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kannon.Data;

internal sealed class ApiKeyMapping : IEntityTypeConfiguration<ApiKey>
{
    public void Configure(EntityTypeBuilder<ApiKey> key)
    {
        key.ToTable("api_keys");
        key.HasKey(k => k.Id);
        key.HasOne<Domain>().WithMany()
            .HasForeignKey(k => k.Domain).HasPrincipalKey(d => d.Name)
            .OnDelete(DeleteBehavior.Cascade);

        key.Property(k => k.Id).HasColumnName("id");
        key.Property(k => k.Name).HasColumnName("name");
        key.Property(k => k.Domain).HasColumnName("domain");
        key.Property(k => k.CreatedAt).HasColumnName("created_at").HasDefaultValueSql("now()");
        key.Property(k => k.ExpiresAt).HasColumnName("expires_at");
        key.Property(k => k.IsActive).HasColumnName("is_active");
        key.Property(k => k.DeactivatedAt).HasColumnName("deactivated_at");
        key.Property(k => k.KeyHash).HasColumnName("key_hash");
        key.Property(k => k.KeyPrefix).HasColumnName("key_prefix");
    }
}
