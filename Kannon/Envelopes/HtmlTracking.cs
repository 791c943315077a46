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
        var output = ScratchText.Acquire(html.Length + 4096);
        RewriteLinks(html, trackedUrl, pixelUrl, output);
        return ScratchText.Release(output);
    }

    /// <summary><see cref="RewriteLinks(string, Action{string, StringBuilder}?, string?)"/>, appended to <paramref name="output"/>.</summary>
    public static void RewriteLinks(string html, Action<string, StringBuilder>? trackedUrl, string? pixelUrl, StringBuilder output)
    {
        // Where the pixel goes in the original: the text around it is copied unchanged, so it is written while that
        // text is copied. Unless the spot is inside a tag being rewritten (a "</body>" in an attribute value): the
        // two-step path then handles it as it always did.
        var pixel = new PixelSpot(pixelUrl is null ? -1 : BodyEnd().Match(html) is { Success: true } end ? end.Index : html.Length, pixelUrl);
        var start = output.Length;
        var copied = 0;
        var pixelInside = false;
        if (trackedUrl is not null || html.Contains(NoTrack, StringComparison.OrdinalIgnoreCase))
        {
            foreach (var tag in AnchorTag().EnumerateMatches(html))
            {
                var source = html.AsSpan(tag.Index, tag.Length);
                var change = Examine(source, trackedUrl is not null, out var hrefStart, out var hrefLength, out var url);
                if (change == TagChange.None)
                {
                    continue;
                }

                pixel.Copy(html, copied, tag.Index, output);
                if (change == TagChange.StripNoTrack)
                {
                    // Rare (a sender's opt-out): the tag as a string is fine here.
                    output.Append(StripNoTrack(source.ToString()));
                }
                else
                {
                    // An unquoted href gets quotes: the token URL is safe in any, but quoting keeps the tag obvious.
                    var quoted = source[hrefStart - 1] is '"' or '\'';
                    output.Append(source[..hrefStart]);
                    if (!quoted)
                    {
                        output.Append('"');
                    }

                    trackedUrl!(url!, output);
                    if (!quoted)
                    {
                        output.Append('"');
                    }

                    output.Append(source[(hrefStart + hrefLength)..]);
                }

                pixelInside |= pixel.At > tag.Index && pixel.At < tag.Index + tag.Length;
                copied = tag.Index + tag.Length;
            }
        }

        pixel.Copy(html, copied, html.Length, output);
        if (pixelInside)
        {
            var written = output.ToString(start, output.Length - start);
            output.Length = start;
            output.Append(InsertOpenPixel(written, pixelUrl!));
        }
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
    /// What becomes of an <c>&lt;a&gt;</c> tag: nothing, its <c>data-no-track</c> stripped (the href then stays), or its
    /// href (<paramref name="hrefStart"/>, <paramref name="hrefLength"/> in the tag) replaced by the tracked
    /// <paramref name="url"/>.
    /// </summary>
    private static TagChange Examine(ReadOnlySpan<char> tag, bool tracking, out int hrefStart, out int hrefLength, out string? url)
    {
        var noTrack = false;
        hrefStart = -1;
        hrefLength = 0;
        url = null;
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
            return TagChange.StripNoTrack;
        }

        if (!tracking || hrefStart < 0)
        {
            return TagChange.None;
        }

        url = WebUtility.HtmlDecode(tag.Slice(hrefStart, hrefLength).ToString()).Trim();
        return IsTrackable(url) ? TagChange.TrackHref : TagChange.None;
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

    private enum TagChange
    {
        None,
        StripNoTrack,
        TrackHref,
    }

    /// <summary>Copies stretches of the original HTML, writing the open pixel where its spot falls, once.</summary>
    private struct PixelSpot(int at, string? url)
    {
        private bool _written = url is null;

        /// <summary>Where the pixel goes in the original HTML; -1 for no pixel.</summary>
        public readonly int At => at;

        /// <summary>Appends <c>html[from..to]</c>, with the pixel in it when its spot is in that stretch (either end included).</summary>
        public void Copy(string html, int from, int to, StringBuilder output)
        {
            if (!_written && at >= from && at <= to)
            {
                output.Append(html, from, at - from).Append(Pixel(url!)).Append(html, at, to - at);
                _written = true;
                return;
            }

            output.Append(html, from, to - from);
        }
    }

    /// <summary>An <c>&lt;a&gt;</c> start tag, quoted attribute values may contain <c>&gt;</c>.</summary>
    [GeneratedRegex("""<a(?=[\s/>])(?>(?:[^>"']+|"[^"]*"|'[^']*')*)>""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AnchorTag();

    [GeneratedRegex(@"</body\s*>", RegexOptions.IgnoreCase | RegexOptions.RightToLeft | RegexOptions.CultureInvariant)]
    private static partial Regex BodyEnd();
}
