namespace Kannon.Templates;

internal static class LiquidSyntax
{
    /// <summary>
    /// The parse error of <paramref name="html"/> as a template, or null when it parses. The renderer's own
    /// check, so the original's <c>{{ key }}</c> placeholders that plain Liquid refuses (<c>{{ a@b }}</c>) pass.
    /// </summary>
    public static string? Problem(string html) =>
        TemplateRenderer.TryParse(html, out var error) ? null : error;
}
