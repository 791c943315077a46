namespace Kannon.Templates;

internal static class TemplateType
{
    /// <summary>Created for one SendHTML call; not listed by the template API.</summary>
    public const string Transient = "transient";

    public const string Template = "template";
}
