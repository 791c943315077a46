using System.Text.RegularExpressions;
using MimeKit;

namespace Kannon.Smtp;

/// <summary>
/// The "Name: value" field groups of a machine-readable report part that MimeKit does not type
/// (message/global-delivery-status, message/feedback-report): groups split by blank lines, folded lines joined.
/// </summary>
internal static partial class ReportFields
{
    public static IEnumerable<HeaderList> Parse(string text)
    {
        foreach (var group in BlankLines().Split(text.Replace("\r\n", "\n", StringComparison.Ordinal)))
        {
            var headers = new HeaderList();
            string? name = null;
            var value = "";
            foreach (var line in group.Split('\n'))
            {
                if (line.Length > 0 && char.IsWhiteSpace(line[0]) && name is not null)
                {
                    value += " " + line.Trim();
                    continue;
                }

                if (name is not null)
                {
                    TryAdd(headers, name, value);
                }

                var colon = line.IndexOf(':', StringComparison.Ordinal);
                (name, value) = colon > 0 ? (line[..colon].Trim(), line[(colon + 1)..].Trim()) : (null, "");
            }

            if (name is not null)
            {
                TryAdd(headers, name, value);
            }

            yield return headers;
        }
    }

    // A field name MimeKit refuses (spaces, odd characters) is a line of text, not a field.
    private static void TryAdd(HeaderList headers, string name, string value)
    {
        try
        {
            headers.Add(name, value);
        }
        catch (ArgumentException)
        {
        }
    }

    [GeneratedRegex(@"\n[ \t]*\n")]
    private static partial Regex BlankLines();
}
