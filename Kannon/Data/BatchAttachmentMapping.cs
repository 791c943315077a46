using Kannon.Pool;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kannon.Data;

internal sealed class BatchAttachmentMapping : IEntityTypeConfiguration<BatchAttachment>
{
    public void Configure(EntityTypeBuilder<BatchAttachment> attachment)
    {
        attachment.ToTable("message_attachments");
        attachment.HasKey(a => new { a.MessageId, a.Filename });

        attachment.Property(a => a.MessageId).HasColumnName("message_id");
        attachment.Property(a => a.Filename).HasColumnName("filename");
        attachment.Property(a => a.Content).HasColumnName("content");
    }
}
