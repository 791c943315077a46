using Kannon.Domains;
using Kannon.Pool;
using Kannon.Templates;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kannon.Data;

internal sealed class BatchMapping : IEntityTypeConfiguration<Batch>
{
    public void Configure(EntityTypeBuilder<Batch> batch)
    {
        batch.ToTable("messages");
        batch.HasKey(b => b.MessageId);
        batch.HasOne<Template>().WithMany()
            .HasForeignKey(b => b.TemplateId).HasPrincipalKey(t => t.TemplateId)
            .OnDelete(DeleteBehavior.Restrict);
        batch.HasOne<Domain>().WithMany()
            .HasForeignKey(b => b.Domain).HasPrincipalKey(d => d.Name)
            .OnDelete(DeleteBehavior.NoAction);
        batch.HasMany(b => b.Attachments).WithOne()
            .HasForeignKey(a => a.MessageId)
            .OnDelete(DeleteBehavior.Cascade);

        batch.Property(b => b.MessageId).HasColumnName("message_id");
        batch.Property(b => b.Subject).HasColumnName("subject");
        batch.Property(b => b.SenderEmail).HasColumnName("sender_email");
        batch.Property(b => b.SenderAlias).HasColumnName("sender_alias");
        batch.Property(b => b.TemplateId).HasColumnName("template_id");
        batch.Property(b => b.Domain).HasColumnName("domain");
        batch.Property(b => b.Headers).HasColumnName("headers").IsRawJsonb();
        batch.Property(b => b.Tracking).HasColumnName("tracking").IsTrackingJsonb();
        batch.Property(b => b.TraceParent).HasColumnName("trace_parent").HasMaxLength(55);
        batch.Property(b => b.CreatedAt).HasColumnName("created_at").HasDefaultValueSql("now()");
    }
}
