using System.Collections.Concurrent;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.RegularExpressions;
using System.Text.Unicode;
using Fluid;

namespace Kannon.Templates;

/// <summary>
/// Renders a Batch's subject and HTML for one recipient with Fluid (Liquid).
/// <para>
/// The original's placeholders keep working unchanged: a bare <c>{{ key }}</c> (spaces only around a key of
/// any characters but braces and whitespace, as UPSTREAM §2.4) names a field, also when the key is not a
/// Liquid identifier (<c>{{ user.name }}</c>, <c>{{ a@b }}</c>). Such placeholders are lifted into slots
/// before Liquid parses the source; a slot renders the field, else a Liquid variable of that name, else
/// its own text verbatim, as the original leaves unknown keys. Everything else is plain Liquid over the
/// fields (<c>{{ name | upcase }}</c>, <c>{% if vip %}</c>), where an unknown name renders empty.
/// </para>
/// <para>
/// Values are HTML-encoded in the HTML body unless the template says <c>| raw</c>; the subject is not
/// encoded. <c>email</c> is the recipient unless the Delivery has a field named <c>email</c> (UPSTREAM §2.4).
/// </para>
/// </summary>
internal sealed partial class TemplateRenderer
{
    private const int DefaultCapacity = 1024;

    private static readonly FluidParser Parser = new();

    private static readonly TemplateOptions Options = new()
    {
        // A template is tenant input: a runaway loop must fail the build, not hold a Dispatcher core.
        MaxSteps = 200_000,
        MaxRecursion = 32,
    };

    // All of Unicode passes through; only markup-significant characters are encoded.
    private static readonly HtmlEncoder Html = HtmlEncoder.Create(UnicodeRanges.All);

    private readonly ConcurrentDictionary<string, CacheEntry> _bodies = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CacheEntry> _subjects = new(StringComparer.Ordinal);
    private readonly int _capacity;

    public TemplateRenderer(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    /// <summary>Intake validation: does the source parse? The error names the position.</summary>
    public static bool TryParse(string source, out string error)
    {
        if (TryParse(source, out _, out var message))
        {
            error = "";
            return true;
        }

        error = message;
        return false;
    }

    /// <summary>The HTML body for one recipient; <paramref name="templateId"/> keys the parse cache.</summary>
    /// <exception cref="TemplateException">the source does not parse, or rendering exceeds its limits</exception>
    public string RenderHtml(string templateId, string html, string recipient, IReadOnlyDictionary<string, string> fields) =>
        Render(_bodies, templateId, html, recipient, fields, Html);

    /// <summary>The subject for one recipient (not HTML-encoded); <paramref name="batchId"/> keys the parse cache.</summary>
    /// <exception cref="TemplateException">the source does not parse, or rendering exceeds its limits</exception>
    public string RenderSubject(string batchId, string subject, string recipient, IReadOnlyDictionary<string, string> fields) =>
        Render(_subjects, batchId, subject, recipient, fields, NullEncoder.Default);

    private string Render(
        ConcurrentDictionary<string, CacheEntry> cache, string id, string source, string recipient,
        IReadOnlyDictionary<string, string> fields, TextEncoder encoder)
    {
        if (!source.Contains("{{", StringComparison.Ordinal) && !source.Contains("{%", StringComparison.Ordinal))
        {
            return source;
        }

        var parsed = Parsed(cache, id, source);
        var context = new TemplateContext(new FieldsValue(parsed.Slots, recipient, fields), Options, allowModelMembers: false);
        try
        {
            return parsed.Liquid.Render(context, encoder);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Tenant input fails in tenant ways: Fluid's MaxSteps / MaxRecursion guard, a filter dividing
            // by zero, a bad date format. Each is this template's fault, never the Dispatcher's.
            throw new TemplateException(id, e.Message, e);
        }
    }

    private ParsedTemplate Parsed(ConcurrentDictionary<string, CacheEntry> cache, string id, string source)
    {
        // Keyed by id and checked by content: an edited template is parsed again, and an exact string
        // compare (free when the caller reuses the Batch's string) costs less than hashing the source.
        if (cache.TryGetValue(id, out var entry) && (ReferenceEquals(entry.Source, source) || entry.Source == source))
        {
            return entry.Template;
        }

        if (!TryParse(source, out var parsed, out var error))
        {
            throw new TemplateException(id, error);
        }

        if (cache.Count >= _capacity)
        {
            // The working set is the Batches being dispatched now; re-parsing them after a clear is cheap.
            cache.Clear();
        }

        cache[id] = new CacheEntry(source, parsed);
        return parsed;
    }

    private static bool TryParse(string source, out ParsedTemplate parsed, out string error)
    {
        var slots = new List<FieldSlot>();
        var translated = Placeholder().Replace(source, match =>
        {
            var key = match.Groups["key"];
            if (!key.Success)
            {
                return match.Value; // a raw or comment block: Liquid keeps its content as is
            }

            slots.Add(new FieldSlot(key.Value, match.Value)
            {
                LiquidPath = LiquidPath().IsMatch(key.Value) ? key.Value.Split('.') : null,
            });
            return $"{{{{ {FieldsValue.SlotPrefix}{slots.Count - 1} }}}}";
        });

        if (Parser.TryParse(translated, out var template, out var message))
        {
            parsed = new ParsedTemplate(template, [.. slots]);
            error = "";
            return true;
        }

        parsed = null!;
        error = Untranslate(message ?? "parse error", slots);
        return false;
    }

    // Fluid quotes the source around the error: show the author's placeholders, not our slot names.
    private static string Untranslate(string message, List<FieldSlot> slots)
    {
        if (slots.Count == 0)
        {
            return message;
        }

        var text = new StringBuilder(message);
        for (var i = slots.Count - 1; i >= 0; i--)
        {
            text.Replace($"{{{{ {FieldsValue.SlotPrefix}{i} }}}}", slots[i].Verbatim);
        }

        return text.ToString();
    }

    /// <summary>
    /// An original-style placeholder: <c>{{</c>, spaces, a key of anything but whitespace, braces and the
    /// characters that make it a Liquid expression (<c>| ' " [ ] ( )</c>), spaces, <c>}}</c>. The key may not
    /// start or end with <c>-</c>, which Liquid reads as whitespace control. Raw and comment blocks are
    /// matched first so that placeholders inside them stay text.
    /// </summary>
    [GeneratedRegex("""
        \{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\}
        |\{%-?\s*comment\s*-?%\}.*?\{%-?\s*endcomment\s*-?%\}
        |\{\{\x20*(?<key>[^\s{}|'"\[\]()\-](?:[^\s{}|'"\[\]()]*[^\s{}|'"\[\]()\-])?)\x20*\}\}
        """, RegexOptions.Singleline | RegexOptions.IgnorePatternWhitespace | RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex LiquidPath();

    private sealed record CacheEntry(string Source, ParsedTemplate Template);
}
