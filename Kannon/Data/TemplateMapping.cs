using Kannon.Domains;
using Kannon.Templates;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kannon.Data;

internal sealed class TemplateMapping : IEntityTypeConfiguration<Template>
{
    public void Configure(EntityTypeBuilder<Template> template)
    {
        template.ToTable("templates");
        template.HasKey(t => t.Id);
        template.HasAlternateKey(t => t.TemplateId);
        template.HasOne<Domain>().WithMany()
            .HasForeignKey(t => t.Domain).HasPrincipalKey(d => d.Name)
            .OnDelete(DeleteBehavior.NoAction);

        template.Property(t => t.Id).HasColumnName("id");
        template.Property(t => t.TemplateId).HasColumnName("template_id");
        template.Property(t => t.Html).HasColumnName("html");
        template.Property(t => t.Domain).HasColumnName("domain");
        template.Property(t => t.Type).HasColumnName("type");
        template.Property(t => t.Title).HasColumnName("title");
        template.Property(t => t.CreatedAt).HasColumnName("created_at").HasDefaultValueSql("now()");
        template.Property(t => t.UpdatedAt).HasColumnName("updated_at").HasDefaultValueSql("now()");
        template.Property(t => t.DeletedAt).HasColumnName("deleted_at");
    }
}
