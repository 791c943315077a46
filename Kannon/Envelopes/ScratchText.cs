using System.Text;

namespace Kannon.Envelopes;

/// <summary>
/// Two <see cref="StringBuilder"/>s kept per thread for the text an Envelope build writes (the text part and the
/// tracked HTML): a build reuses the last one's capacity instead of growing new builders chunk by chunk.
/// </summary>
internal static class ScratchText
{
    // A builder that grew past this (a message of more than ~256 K characters) is let go rather than kept for the
    // thread's lifetime: at most 1 MB per thread stays, whatever one Batch once sent.
    private const int MaxKeptCapacity = 1 << 18;

    [ThreadStatic]
    private static StringBuilder? _first;

    [ThreadStatic]
    private static StringBuilder? _second;

    /// <summary>An empty builder with room for <paramref name="capacity"/> characters; give it back with <see cref="Return"/>.</summary>
    public static StringBuilder Acquire(int capacity)
    {
        var builder = _first;
        if (builder is not null)
        {
            _first = null;
        }
        else
        {
            builder = _second;
            _second = null;
        }

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

    /// <summary>Gives the builder back to the thread without reading it.</summary>
    public static void Return(StringBuilder builder)
    {
        if (builder.Capacity > MaxKeptCapacity)
        {
            return;
        }

        if (_first is null)
        {
            _first = builder;
        }
        else
        {
            _second = builder;
        }
    }
}
