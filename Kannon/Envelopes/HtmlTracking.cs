using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Kannon.Envelopes;

/// <summary>
/// Click and open tracking in a rendered HTML body (UPSTREAM §4.4, avoiding #276/#410/#421): only the
/// <c>href</c> of an <c>&lt;a&gt;</c> tag is ever rewritten, found by position inside that tag, and only when it
/// is an absolute http(s) URL; <c>data-no-track</c> opts a link out and never reaches the recipient.
/// </summary>
internal static partial class HtmlTracking
{
    private const string NoTrack = "data-no-track";

    /// <summary>
    /// Replaces the href of every tracked <c>&lt;a&gt;</c> with <paramref name="trackedUrl"/>(its URL, entities
    /// decoded), and strips <c>data-no-track</c> from every <c>&lt;a&gt;</c>. A null <paramref name="trackedUrl"/>
    /// only strips. Untouched: mailto:, tel:, sms:, #anchors, relative and empty hrefs, every other tag and attribute.
    /// </summary>
    public static string RewriteLinks(string html, Func<string, string>? trackedUrl)
    {
        if (trackedUrl is null && html.IndexOf(NoTrack, StringComparison.OrdinalIgnoreCase) < 0)
        {
            return html;
        }

        StringBuilder? output = null;
        var copied = 0;
        foreach (var tag in AnchorTag().EnumerateMatches(html))
        {
            var rewritten = RewriteTag(html.Substring(tag.Index, tag.Length), trackedUrl);
            if (rewritten is null)
            {
                continue;
            }

            output ??= new StringBuilder(html.Length + 1024);
            output.Append(html, copied, tag.Index - copied).Append(rewritten);
            copied = tag.Index + tag.Length;
        }

        return output is null ? html : output.Append(html, copied, html.Length - copied).ToString();
    }

    /// <summary>
    /// Inserts the 1×1 open pixel before the last <c>&lt;/body&gt;</c> (any case, optional whitespace), or
    /// appends it when the body has no end tag.
    /// </summary>
    public static string InsertOpenPixel(string html, string pixelUrl)
    {
        var pixel = $"<img src=\"{pixelUrl}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\" />";
        var bodyEnd = BodyEnd().Match(html);
        return bodyEnd.Success ? html.Insert(bodyEnd.Index, pixel) : html + pixel;
    }

    /// <summary>Whether an href (as written in HTML) is a link we redirect through the tracker.</summary>
    public static bool IsTrackable(string url) =>
        url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    // Null when the tag stays as it is.
    private static string? RewriteTag(string text, Func<string, string>? trackedUrl)
    {
        var noTrack = false;
        Group? href = null;
        List<(int Index, int Length)> removals = [];
        foreach (Match attribute in Attribute().Matches(text, 2))
        {
            var name = attribute.Groups["name"].Value;
            if (name.Equals(NoTrack, StringComparison.OrdinalIgnoreCase))
            {
                noTrack = true;
                removals.Add((attribute.Index, attribute.Length));
            }
            else if (href is null && name.Equals("href", StringComparison.OrdinalIgnoreCase))
            {
                href = attribute.Groups["value"];
            }
        }

        if (noTrack)
        {
            var stripped = new StringBuilder(text);
            for (var i = removals.Count - 1; i >= 0; i--)
            {
                stripped.Remove(removals[i].Index, removals[i].Length);
            }

            return stripped.ToString();
        }

        if (trackedUrl is null || href is not { Success: true })
        {
            return null;
        }

        var url = WebUtility.HtmlDecode(href.Value).Trim();
        if (!IsTrackable(url))
        {
            return null;
        }

        // An unquoted href gets quotes: the token URL is safe in any, but quoting keeps the tag obvious.
        var quote = text[href.Index - 1] is '"' or '\'' ? "" : "\"";
        return text[..href.Index] + quote + trackedUrl(url) + quote + text[(href.Index + href.Length)..];
    }

    /// <summary>An <c>&lt;a&gt;</c> start tag, quoted attribute values may contain <c>&gt;</c>.</summary>
    [GeneratedRegex("""<a(?=[\s/>])(?>(?:[^>"']+|"[^"]*"|'[^']*')*)>""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AnchorTag();

    /// <summary>One attribute with its leading whitespace; value in either quote style or unquoted.</summary>
    [GeneratedRegex("""\s+(?<name>[^\s"'>/=]+)(?:\s*=\s*(?:"(?<value>[^"]*)"|'(?<value>[^']*)'|(?<value>[^\s"'=<>`]+)))?""", RegexOptions.CultureInvariant)]
    private static partial Regex Attribute();

    [GeneratedRegex(@"</body\s*>", RegexOptions.IgnoreCase | RegexOptions.RightToLeft | RegexOptions.CultureInvariant)]
    private static partial Regex BodyEnd();
}
