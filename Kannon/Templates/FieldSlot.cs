namespace Kannon.Templates;

/// <summary>
/// An original-style placeholder (<c>{{ key }}</c>) lifted out of the source: the field it names and its
/// exact text, written back unchanged when no value exists (the original leaves unknown keys verbatim).
/// </summary>
internal sealed record FieldSlot(string Key, string Verbatim)
{
    /// <summary>Path segments, when the key also reads as a Liquid variable path (<c>forloop.index</c>).</summary>
    public string[]? LiquidPath { get; init; }
}
