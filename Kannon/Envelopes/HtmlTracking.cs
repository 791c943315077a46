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
    /// Replaces the href of every tracked <c>&lt;a&gt;</c> with what <paramref name="trackedUrl"/> appends for its URL
    /// (entities decoded), and strips <c>data-no-track</c> from every <c>&lt;a&gt;</c>. A null <paramref name="trackedUrl"/>
    /// only strips. Untouched: mailto:, tel:, sms:, #anchors, relative and empty hrefs, every other tag and attribute.
    /// With <paramref name="pixelUrl"/>, also inserts the open pixel as <see cref="InsertOpenPixel"/> does, in the
    /// same pass (one copy of the body, not two).
    /// </summary>
    public static string RewriteLinks(string html, Action<string, StringBuilder>? trackedUrl, string? pixelUrl = null)
    {
        if (trackedUrl is null && html.IndexOf(NoTrack, StringComparison.OrdinalIgnoreCase) < 0)
        {
            return pixelUrl is null ? html : InsertOpenPixel(html, pixelUrl);
        }

        // Where the pixel goes in the original, and so in the output: the text around it is copied unchanged. Unless
        // that spot is inside a tag being rewritten (a "</body>" in an attribute value): the two-step path then
        // handles it as it always did.
        var bodyEnd = pixelUrl is null ? -1 : BodyEnd().Match(html) is { Success: true } end ? end.Index : html.Length;
        var pixelAt = -1;
        var pixelInside = false;
        StringBuilder? output = null;
        var copied = 0;
        foreach (var tag in AnchorTag().EnumerateMatches(html))
        {
            output ??= ScratchText.Acquire(html.Length + 4096);
            var mark = output.Length; // where this tag's preceding text starts in the output
            if (!RewriteTag(html.AsSpan(tag.Index, tag.Length), trackedUrl, output, html, copied, tag.Index))
            {
                continue;
            }

            if (bodyEnd >= copied && bodyEnd <= tag.Index)
            {
                pixelAt = mark + (bodyEnd - copied);
            }

            pixelInside |= bodyEnd > tag.Index && bodyEnd < tag.Index + tag.Length;
            copied = tag.Index + tag.Length;
        }

        if (output is null || copied == 0)
        {
            // No tag changed: the body as it came, not a copy of it.
            if (output is not null)
            {
                ScratchText.Return(output);
            }

            return pixelUrl is null ? html : InsertOpenPixel(html, pixelUrl);
        }

        if (bodyEnd >= copied)
        {
            pixelAt = output.Length + (bodyEnd - copied);
        }

        output.Append(html, copied, html.Length - copied);
        if (pixelUrl is null)
        {
            return ScratchText.Release(output);
        }

        return pixelInside ? InsertOpenPixel(ScratchText.Release(output), pixelUrl) : ScratchText.Release(output, pixelAt, Pixel(pixelUrl));
    }

    /// <summary>
    /// Inserts the 1×1 open pixel before the last <c>&lt;/body&gt;</c> (any case, optional whitespace), or
    /// appends it when the body has no end tag.
    /// </summary>
    public static string InsertOpenPixel(string html, string pixelUrl)
    {
        var bodyEnd = BodyEnd().Match(html);
        return bodyEnd.Success ? html.Insert(bodyEnd.Index, Pixel(pixelUrl)) : html + Pixel(pixelUrl);
    }

    /// <summary>Whether an href (as written in HTML) is a link we redirect through the tracker.</summary>
    public static bool IsTrackable(string url) =>
        url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    private static string Pixel(string pixelUrl) => $"<img src=\"{pixelUrl}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\" />";

    /// <summary>
    /// Appends the text since <paramref name="copied"/> and then the rewritten tag to <paramref name="output"/>; false,
    /// having appended nothing, when the tag stays as it is.
    /// </summary>
    private static bool RewriteTag(ReadOnlySpan<char> tag, Action<string, StringBuilder>? trackedUrl, StringBuilder output, string html, int copied, int tagIndex)
    {
        var noTrack = false;
        var hrefStart = -1;
        var hrefLength = 0;
        for (var i = 2; i < tag.Length;)
        {
            if (!ReadAttribute(tag, ref i, out _, out var name, out var valueStart, out var valueLength))
            {
                continue;
            }

            if (name.Equals(NoTrack, StringComparison.OrdinalIgnoreCase))
            {
                noTrack = true;
            }
            else if (hrefStart < 0 && valueStart >= 0 && name.Equals("href", StringComparison.OrdinalIgnoreCase))
            {
                hrefStart = valueStart;
                hrefLength = valueLength;
            }
        }

        if (noTrack)
        {
            // Rare (a sender's opt-out): the tag as a string is fine here.
            output.Append(html, copied, tagIndex - copied).Append(StripNoTrack(tag.ToString()));
            return true;
        }

        if (trackedUrl is null || hrefStart < 0)
        {
            return false;
        }

        var url = WebUtility.HtmlDecode(tag.Slice(hrefStart, hrefLength).ToString()).Trim();
        if (!IsTrackable(url))
        {
            return false;
        }

        // An unquoted href gets quotes: the token URL is safe in any, but quoting keeps the tag obvious.
        var quoted = tag[hrefStart - 1] is '"' or '\'';
        output.Append(html, copied, tagIndex - copied).Append(tag[..hrefStart]);
        if (!quoted)
        {
            output.Append('"');
        }

        trackedUrl(url, output);
        if (!quoted)
        {
            output.Append('"');
        }

        output.Append(tag[(hrefStart + hrefLength)..]);
        return true;
    }

    private static string StripNoTrack(string tag)
    {
        var stripped = new StringBuilder(tag);
        var removals = new List<(int Start, int Length)>();
        for (var i = 2; i < tag.Length;)
        {
            if (ReadAttribute(tag, ref i, out var start, out var name, out _, out _) && name.Equals(NoTrack, StringComparison.OrdinalIgnoreCase))
            {
                removals.Add((start, i - start));
            }
        }

        for (var r = removals.Count - 1; r >= 0; r--)
        {
            stripped.Remove(removals[r].Start, removals[r].Length);
        }

        return stripped.ToString();
    }

    /// <summary>
    /// One attribute with its leading whitespace, from <paramref name="i"/> on (which it advances past what it read):
    /// <c>\s+name(\s*=\s*("v"|'v'|v))?</c>, name of no whitespace, quote, <c>&gt;</c>, <c>/</c> or <c>=</c>; an
    /// unquoted value of no whitespace, quote, <c>=</c>, <c>&lt;</c>, <c>&gt;</c> or backtick. False (having moved on)
    /// where no attribute starts. <paramref name="valueStart"/> is -1 for an attribute without a value.
    /// </summary>
    private static bool ReadAttribute(ReadOnlySpan<char> tag, ref int i, out int start, out ReadOnlySpan<char> name, out int valueStart, out int valueLength)
    {
        start = i;
        name = [];
        valueStart = -1;
        valueLength = 0;
        if (!char.IsWhiteSpace(tag[i]))
        {
            i++;
            return false;
        }

        while (i < tag.Length && char.IsWhiteSpace(tag[i]))
        {
            i++;
        }

        var nameStart = i;
        while (i < tag.Length && !char.IsWhiteSpace(tag[i]) && tag[i] is not ('"' or '\'' or '>' or '/' or '='))
        {
            i++;
        }

        if (i == nameStart)
        {
            return false;
        }

        name = tag[nameStart..i];
        var j = i;
        while (j < tag.Length && char.IsWhiteSpace(tag[j]))
        {
            j++;
        }

        if (j >= tag.Length || tag[j] != '=')
        {
            return true;
        }

        j++;
        while (j < tag.Length && char.IsWhiteSpace(tag[j]))
        {
            j++;
        }

        if (j < tag.Length && tag[j] is '"' or '\'')
        {
            var close = tag[(j + 1)..].IndexOf(tag[j]);
            if (close >= 0)
            {
                valueStart = j + 1;
                valueLength = close;
                i = j + 1 + close + 1;
            }

            return true;
        }

        var k = j;
        while (k < tag.Length && !char.IsWhiteSpace(tag[k]) && tag[k] is not ('"' or '\'' or '=' or '<' or '>' or '`'))
        {
            k++;
        }

        if (k > j)
        {
            valueStart = j;
            valueLength = k - j;
            i = k;
        }

        return true;
    }

    /// <summary>An <c>&lt;a&gt;</c> start tag, quoted attribute values may contain <c>&gt;</c>.</summary>
    [GeneratedRegex("""<a(?=[\s/>])(?>(?:[^>"']+|"[^"]*"|'[^']*')*)>""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AnchorTag();

    [GeneratedRegex(@"</body\s*>", RegexOptions.IgnoreCase | RegexOptions.RightToLeft | RegexOptions.CultureInvariant)]
    private static partial Regex BodyEnd();
}
