namespace Kannon.Templates;

internal sealed class Template
{
    public int Id { get; set; }

    public required string TemplateId { get; set; }

    public required string Html { get; set; }

    public required string Domain { get; set; }

    public string Type { get; set; } = TemplateType.Transient;

    public string Title { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public DateTimeOffset? DeletedAt { get; set; }
}
