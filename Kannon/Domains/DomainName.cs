namespace Kannon.Domains;

/// <summary>
/// The canonical form of a sending domain: lower-case, at least two labels of <c>[a-z0-9_-]</c>, at most 254
/// characters (the schema's CHECK), and, as DNS requires for the DKIM record, no label longer than 63. Input that is not canonical is refused rather than rewritten, so the name a
/// caller sees in template ids, return paths and DKIM signatures is always the one they typed.
/// </summary>
internal static class DomainName
{
    public const int MaxLength = 254;
    public const int MaxLabelLength = 63;

    /// <summary>Why <paramref name="name"/> is not a canonical domain name, or null when it is.</summary>
    public static string? Problem(string name)
    {
        if (name.Length == 0)
        {
            return "is required";
        }

        if (name.Length > MaxLength)
        {
            return $"is {name.Length} characters long (at most {MaxLength})";
        }

        if (name.Any(char.IsAsciiLetterUpper))
        {
            return $"'{name}' must be lower-case ('{name.ToLowerInvariant()}')";
        }

        var labels = name.Split('.');
        if (labels.Length < 2)
        {
            return $"'{name}' needs at least two labels (like example.com)";
        }

        if (labels.Any(l => l.Length == 0))
        {
            return $"'{name}' has an empty label";
        }

        if (labels.Any(l => l.Any(c => !(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_'))))
        {
            return $"'{name}' may only contain a-z, 0-9, '-', '_' and dots between labels";
        }

        if (labels.FirstOrDefault(l => l.Length > MaxLabelLength) is { } longLabel)
        {
            return $"has a label of {longLabel.Length} characters (at most {MaxLabelLength})";
        }

        return null;
    }
}
