using Kannon.Pool;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kannon.Data;

internal sealed class DeliveryMapping : IEntityTypeConfiguration<Delivery>
{
    public void Configure(EntityTypeBuilder<Delivery> delivery)
    {
        delivery.ToTable("sending_pool_emails");
        delivery.HasKey(d => d.Id);
        delivery.HasOne<Batch>().WithMany()
            .HasForeignKey(d => d.MessageId)
            .OnDelete(DeleteBehavior.NoAction);

        delivery.Property(d => d.Id).HasColumnName("id");
        delivery.Property(d => d.ScheduledTime).HasColumnName("scheduled_time").HasDefaultValueSql("now()");
        delivery.Property(d => d.OriginalScheduledTime).HasColumnName("original_scheduled_time");
        delivery.Property(d => d.SendAttemptsCount).HasColumnName("send_attempts_cnt");
        delivery.Property(d => d.Email).HasColumnName("email");
        delivery.Property(d => d.MessageId).HasColumnName("message_id");
        delivery.Property(d => d.Fields).HasColumnName("fields").IsFieldsJsonb();
        delivery.Property(d => d.Status).HasColumnName("status");
        delivery.Property(d => d.CreatedAt).HasColumnName("created_at").HasDefaultValueSql("now()");
        delivery.Property(d => d.Domain).HasColumnName("domain");
        delivery.Property(d => d.Tracking).HasColumnName("tracking").IsTrackingJsonb();
        delivery.Property(d => d.ClaimedAt).HasColumnName("claimed_at");
    }
}
