namespace Kannon.Mailer;

/// <summary>
/// The copy of a large SendHTML/SendTemplate request its recipients are read from (ADR 0022), kept for the next call
/// once intake is done with it (ADR 0026). A call of 100,000 recipients is a ~6 MB copy in the large-object heap,
/// which only a gen2 collection frees: a 1,000,000-recipient intake in ten calls otherwise piled up ten of them.
/// One buffer is kept, not one per thread (a shared pool kept an 8 MB array for every thread that ever took a call).
/// </summary>
internal static class RequestBuffer
{
    /// <summary>Smaller copies die young in gen0; the large-object heap starts here.</summary>
    public const int KeptFrom = 85_000;

    /// <summary>About 280,000 recipients: larger calls are rare enough to pay for their own copy.</summary>
    public const int KeptUpTo = 16 * 1024 * 1024;

    private static byte[]? s_spare;

    /// <summary>A buffer of at least <paramref name="length"/> bytes, not zeroed; the kept one when it is large enough.</summary>
    public static byte[] Rent(int length)
    {
        if (length is >= KeptFrom and <= KeptUpTo && Interlocked.Exchange(ref s_spare, null) is { } spare && spare.Length >= length)
        {
            return spare;
        }

        return GC.AllocateUninitializedArray<byte>(length);
    }

    /// <summary>
    /// Keeps <paramref name="buffer"/> for the next call, unless one is kept already. Only for a buffer from
    /// <see cref="Rent"/>, once, when nothing reads it any more: the next caller's request is written over it.
    /// </summary>
    public static void Return(byte[] buffer)
    {
        if (buffer.Length is >= KeptFrom and <= KeptUpTo)
        {
            Interlocked.CompareExchange(ref s_spare, buffer, null);
        }
    }
}
