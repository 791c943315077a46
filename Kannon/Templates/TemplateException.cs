namespace Kannon.Templates;

/// <summary>A template that does not parse as Liquid, or fails while rendering; the message says where or why.</summary>
internal sealed class TemplateException(string templateId, string error, Exception? inner = null)
    : Exception($"template {templateId} cannot be rendered: {error}", inner)
{
    public string TemplateId { get; } = templateId;
}
