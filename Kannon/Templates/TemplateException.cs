namespace Kannon.Templates;

/// <summary>A template that does not parse as Liquid; the message says where.</summary>
internal sealed class TemplateException(string templateId, string error)
    : Exception($"template {templateId} does not parse: {error}")
{
    public string TemplateId { get; } = templateId;
}
