using System.Text;

namespace Kannon.Envelopes;

/// <summary>
/// One <see cref="StringBuilder"/> kept per thread for the text an Envelope build writes (tracked HTML, the text
/// part): a build reuses the last one's capacity instead of growing a new builder chunk by chunk.
/// </summary>
internal static class ScratchText
{
    // A builder that grew past this (a huge message) is let go rather than kept for the thread's lifetime.
    private const int MaxKeptCapacity = 1 << 20;

    [ThreadStatic]
    private static StringBuilder? _kept;

    /// <summary>An empty builder with room for <paramref name="capacity"/> characters; give it back with <see cref="Release"/>.</summary>
    public static StringBuilder Acquire(int capacity)
    {
        var builder = _kept;
        _kept = null;
        if (builder is null)
        {
            return new StringBuilder(capacity);
        }

        builder.Clear();
        builder.EnsureCapacity(capacity);
        return builder;
    }

    /// <summary>The builder's text; the builder goes back to the thread for the next build.</summary>
    public static string Release(StringBuilder builder)
    {
        var text = builder.ToString();
        Return(builder);
        return text;
    }

    /// <summary>
    /// The builder's text with <paramref name="insert"/> at <paramref name="index"/>, made in one string: inserting
    /// into the builder would split its chunk, and the next <see cref="Acquire"/> would copy it whole to merge them.
    /// </summary>
    public static string Release(StringBuilder builder, int index, string insert)
    {
        var text = string.Create(builder.Length + insert.Length, (builder, index, insert), static (target, state) =>
        {
            var (source, at, inserted) = state;
            source.CopyTo(0, target, at);
            inserted.CopyTo(target[at..]);
            source.CopyTo(at, target[(at + inserted.Length)..], source.Length - at);
        });
        Return(builder);
        return text;
    }

    /// <summary>Gives the builder back to the thread without reading it.</summary>
    public static void Return(StringBuilder builder)
    {
        if (builder.Capacity <= MaxKeptCapacity)
        {
            _kept = builder;
        }
    }
}
