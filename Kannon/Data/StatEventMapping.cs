using Kannon.Stats;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Kannon.Data;

internal sealed class StatEventMapping : IEntityTypeConfiguration<StatEvent>
{
    public void Configure(EntityTypeBuilder<StatEvent> stat)
    {
        stat.ToTable("stats");
        stat.HasKey(s => s.Id);

        stat.Property(s => s.Id).HasColumnName("id");
        stat.Property(s => s.Type).HasColumnName("type");
        stat.Property(s => s.Email).HasColumnName("email");
        stat.Property(s => s.MessageId).HasColumnName("message_id");
        stat.Property(s => s.Domain).HasColumnName("domain");
        stat.Property(s => s.Timestamp).HasColumnName("timestamp");
        stat.Property(s => s.Data).HasColumnName("data").IsRawJsonb();
    }
}
