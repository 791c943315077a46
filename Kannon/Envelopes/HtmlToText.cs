using System.Buffers;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Kannon.Envelopes;

/// <summary>
/// The text/plain alternative of an HTML body: what a reader sees, not the markup. Scripts, styles, the
/// head and comments are dropped; block elements break lines; entities are decoded; whitespace collapses
/// as a browser would; a link whose text is not its URL reads "text (url)".
/// </summary>
internal static partial class HtmlToText
{
    public static string Convert(string html)
    {
        var output = ScratchText.Acquire(html.Length / 2);
        Convert(html, output);
        return ScratchText.Release(output);
    }

    /// <summary><see cref="Convert(string)"/>, appended to <paramref name="output"/> (expected empty: whitespace is collapsed against what it holds).</summary>
    public static void Convert(string html, StringBuilder output)
    {
        var text = new Writer(output);
        var position = 0;
        string? linkUrl = null;
        var linkStart = 0;
        Span<char> lowered = stackalloc char[MaxElementName];
        // Positions only (no Match, Group or substring per tag): the tag is read from the span below.
        foreach (var token in Token().EnumerateMatches(html))
        {
            text.Text(html.AsSpan(position, token.Index - position));
            position = token.Index + token.Length;

            if (!TryReadTag(html.AsSpan(token.Index, token.Length), out var closing, out var name, out var attributes) || name.Length > MaxElementName)
            {
                continue; // comment, doctype, or a name longer than any element that changes the text
            }

            var element = lowered[..name.ToLowerInvariant(lowered)];
            switch (element)
            {
                case "br":
                    text.LineBreak();
                    break;
                case "p" or "div" or "h1" or "h2" or "h3" or "h4" or "h5" or "h6" or "table" or "ul" or "ol"
                    or "blockquote" or "pre" or "hr" or "section" or "article" or "header" or "footer" or "center":
                    text.Paragraph();
                    break;
                case "tr" or "dt" or "dd":
                    text.LineBreak();
                    break;
                case "li":
                    text.LineBreak();
                    if (!closing)
                    {
                        text.Raw("- ");
                    }

                    break;
                case "td" or "th":
                    text.Space();
                    break;
                case "a" when !closing:
                    linkUrl = LinkUrl(attributes);
                    linkStart = text.Length;
                    break;
                case "a" when linkUrl is not null:
                    var label = text.Label(linkStart, linkUrl);
                    if (label == LinkLabel.Empty)
                    {
                        text.Raw(linkUrl);
                    }
                    else if (label == LinkLabel.Other)
                    {
                        text.Space();
                        text.Raw("(");
                        text.Raw(linkUrl);
                        text.Raw(")");
                    }

                    linkUrl = null;
                    break;
                case "img" when !closing:
                    if (TryAttributeValue(Alt(), attributes, out var alt))
                    {
                        text.Text(WebUtility.HtmlDecode(alt.ToString()));
                    }

                    break;
            }
        }

        text.Text(html.AsSpan(position));
    }

    /// <summary>The longest element name that changes the text ("blockquote").</summary>
    private const int MaxElementName = 10;

    /// <summary>
    /// A start or end tag as <see cref="Token"/> matched it: <c>&lt;</c>, an optional <c>/</c>, the name, the attributes
    /// and the closing <c>&gt;</c>. False for what a reader never sees: comments, doctypes, and script, style, head and
    /// title (with their content, or alone when unclosed).
    /// </summary>
    private static bool TryReadTag(ReadOnlySpan<char> token, out bool closing, out ReadOnlySpan<char> name, out ReadOnlySpan<char> attributes)
    {
        closing = token.Length > 1 && token[1] == '/';
        var start = closing ? 2 : 1;
        var end = start;
        while (end < token.Length && char.IsAsciiLetterOrDigit(token[end]))
        {
            end++;
        }

        name = token[start..end];
        attributes = end < token.Length - 1 ? token[end..^1] : [];
        return name.Length > 0 && char.IsAsciiLetter(name[0]) && !IsHidden(name);
    }

    private static bool IsHidden(ReadOnlySpan<char> name) =>
        name.Equals("script", StringComparison.OrdinalIgnoreCase) || name.Equals("style", StringComparison.OrdinalIgnoreCase)
        || name.Equals("head", StringComparison.OrdinalIgnoreCase) || name.Equals("title", StringComparison.OrdinalIgnoreCase);

    private static string? LinkUrl(ReadOnlySpan<char> attributes)
    {
        if (!TryAttributeValue(Href(), attributes, out var href))
        {
            return null;
        }

        var url = WebUtility.HtmlDecode(href.Trim().ToString());
        if (url.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase))
        {
            url = url["mailto:".Length..];
        }

        return HtmlTracking.IsTrackable(url) || url.Contains('@', StringComparison.Ordinal) ? url : null;
    }

    /// <summary>
    /// The value of the first attribute <paramref name="attribute"/> matches (<c>name\s*=\s*value</c>, quoted or not),
    /// without its quotes; false when none does.
    /// </summary>
    private static bool TryAttributeValue(Regex attribute, ReadOnlySpan<char> attributes, out ReadOnlySpan<char> value)
    {
        foreach (var match in attribute.EnumerateMatches(attributes))
        {
            value = attributes.Slice(match.Index, match.Length);
            value = value[(value.IndexOf('=') + 1)..].TrimStart();
            if (value is ['"' or '\'', ..])
            {
                value = value[1..^1];
            }

            return true;
        }

        value = [];
        return false;
    }

    private enum LinkLabel
    {
        Empty,
        TheUrl,
        Other,
    }

    // No backreference for the element name: a case-insensitive one makes the generator fall back to the interpreter.
    [GeneratedRegex("""
        <!--.*?-->
        |<script\b.*?</script\s*>|<style\b.*?</style\s*>|<head\b.*?</head\s*>|<title\b.*?</title\s*>
        |<(?<close>/?)(?<name>[a-zA-Z][a-zA-Z0-9]*)\b(?<attributes>(?>(?:[^>"']+|"[^"]*"|'[^']*')*))>
        |<![^>]*>
        """, RegexOptions.IgnoreCase | RegexOptions.Singleline | RegexOptions.IgnorePatternWhitespace | RegexOptions.CultureInvariant)]
    private static partial Regex Token();

    [GeneratedRegex("""(?:^|\s)href\s*=\s*(?:"(?<value>[^"]*)"|'(?<value>[^']*)'|(?<value>[^\s"'=<>`]+))""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Href();

    [GeneratedRegex("""(?:^|\s)alt\s*=\s*(?:"(?<value>[^"]*)"|'(?<value>[^']*)')""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Alt();

    /// <summary>Builds the text: collapses whitespace, and holds breaks until text follows them.</summary>
    private sealed class Writer(StringBuilder text)
    {
        // What HTML collapses, plus the no-break space, which a text reader would not miss.
        private static readonly SearchValues<char> Whitespace = SearchValues.Create(" \t\n\r\f\u00A0");

        private readonly StringBuilder _text = text;
        private int _pendingBreaks;
        private bool _pendingSpace;

        public int Length => _text.Length;

        /// <summary>What the text written since <paramref name="start"/> (a link's label), trimmed, says of <paramref name="url"/>.</summary>
        public LinkLabel Label(int start, string url)
        {
            var length = _text.Length - start;
            char[]? rented = null;
            var label = length <= 256 ? stackalloc char[length] : (rented = ArrayPool<char>.Shared.Rent(length)).AsSpan(0, length);
            _text.CopyTo(start, label, length);
            var trimmed = ((ReadOnlySpan<char>)label).Trim();
            var result = trimmed.IsEmpty ? LinkLabel.Empty
                : trimmed.Equals(url, StringComparison.OrdinalIgnoreCase) ? LinkLabel.TheUrl
                : LinkLabel.Other;
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }

            return result;
        }

        public void LineBreak() => _pendingBreaks = Math.Max(_pendingBreaks, 1);

        public void Paragraph() => _pendingBreaks = 2;

        public void Space() => _pendingSpace = true;

        /// <summary>HTML text: entities decoded, whitespace collapsed.</summary>
        public void Text(ReadOnlySpan<char> html)
        {
            if (html.IsEmpty)
            {
                return;
            }

            ReadOnlySpan<char> text = html.Contains('&') ? WebUtility.HtmlDecode(html.ToString()) : html;
            while (!text.IsEmpty)
            {
                var space = text.IndexOfAny(Whitespace);
                if (space != 0)
                {
                    var word = space < 0 ? text : text[..space];
                    Flush();
                    _text.Append(word);
                    text = text[word.Length..];
                    continue;
                }

                _pendingSpace = true;
                var next = text.IndexOfAnyExcept(Whitespace);
                text = next < 0 ? [] : text[next..];
            }
        }

        /// <summary>Text written as is, after any pending break.</summary>
        public void Raw(ReadOnlySpan<char> value)
        {
            Flush();
            _text.Append(value);
        }

        private void Flush()
        {
            if (_text.Length > 0 && _pendingBreaks > 0)
            {
                _text.Append('\n', _pendingBreaks);
            }
            else if (_text.Length > 0 && _pendingSpace)
            {
                _text.Append(' ');
            }

            _pendingBreaks = 0;
            _pendingSpace = false;
        }
    }
}
