namespace Kannon.Pool;

internal sealed class BatchAttachment
{
    /// <summary>Filled in by EF Core when the attachment is added through <see cref="Batch.Attachments"/>.</summary>
    public string MessageId { get; set; } = "";

    public required string Filename { get; set; }

    public required byte[] Content { get; set; }
}
