using Kannon.Data;

namespace Kannon.Templates;

/// <summary><c>template_&lt;random&gt;@&lt;domain&gt;</c>: the id carries its Domain, so a lookup is always tenant-scoped.</summary>
internal static class TemplateId
{
    public const string Prefix = "template_";

    public static string New(string domain) => $"{Prefix}{RandomId.Next()}@{domain}";

    /// <summary>The Domain part of <paramref name="id"/>, or null when it is not shaped like a template id.</summary>
    public static string? DomainOf(string id)
    {
        var at = id.LastIndexOf('@');
        if (!id.StartsWith(Prefix, StringComparison.Ordinal) || at <= Prefix.Length || at == id.Length - 1)
        {
            return null;
        }

        return id[(at + 1)..];
    }
}
