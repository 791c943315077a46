namespace Kannon.Mailer;

/// <summary>
/// Intake's per-recipient check, one recipient at a time as they are copied into the Pool: an address that can never
/// be delivered (empty, no '@', spaces or control characters, too long) is rejected on its own with
/// <c>invalid_email</c>, and a repeated address is collapsed into its first occurrence. Full RFC 5321/6531 syntax is
/// the Validator's job.
/// </summary>
/// <remarks>
/// Repeats are found by a 128-bit hash of the case-folded address, not by keeping the addresses: a call of 100,000
/// recipients keeps ~2 MB instead of ~10 MB of strings alive for its whole COPY, which a 1,000,000-recipient intake
/// otherwise promoted into gen2 call after call. Two different addresses share a hash with a probability of about
/// n²/2¹²⁹ (10⁻²⁹ for 100,000), far below any failure this system can otherwise have. The set of a large call
/// (~4 MB for 100,000, in the large-object heap) is kept for the next one when the screen is disposed (ADR 0026).
/// </remarks>
internal sealed class RecipientScreen(int capacity) : IDisposable
{
    public const string InvalidEmail = "invalid_email";

    /// <summary>Below this a set is small and dies young; above <see cref="KeptUpTo"/> a call pays for its own.</summary>
    private const int KeptFrom = 4_096;
    private const int KeptUpTo = 300_000;

    /// <summary>A kept set grows to the largest call it served (a prime a little above it): never more than ~10 MB kept.</summary>
    private const int KeptCapacityUpTo = 400_000;

    private static HashSet<UInt128>? s_spare;

    private HashSet<UInt128>? _seen = SetFor(capacity);

    /// <summary>Recipients rejected so far, in request order.</summary>
    public List<RejectedRecipient> Rejected { get; } = [];

    /// <summary>The address to store for <paramref name="email"/> (trimmed), or null when it is rejected or repeats an earlier one.</summary>
    public string? Admit(string email)
    {
        // Trim returns the same string when there is nothing to trim: no copy of an address already clean.
        var trimmed = email.Trim();
        if (!IsUsable(trimmed))
        {
            Rejected.Add(new RejectedRecipient(email, InvalidEmail));
            return null;
        }

        var seen = _seen ?? throw new ObjectDisposedException(nameof(RecipientScreen));
        return seen.Add(KeyOf(trimmed)) ? trimmed : null;
    }

    /// <summary>Keeps the set, emptied, for the next call's screen (unless one is kept already); <see cref="Rejected"/> stays.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _seen, null) is { } seen && seen.EnsureCapacity(0) is >= KeptFrom and <= KeptCapacityUpTo)
        {
            seen.Clear();
            Interlocked.CompareExchange(ref s_spare, seen, null);
        }
    }

    private static HashSet<UInt128> SetFor(int capacity)
    {
        if (capacity is >= KeptFrom and <= KeptUpTo && Interlocked.Exchange(ref s_spare, null) is { } spare)
        {
            spare.EnsureCapacity(capacity);
            return spare;
        }

        return new HashSet<UInt128>(capacity);
    }

    /// <summary>XxHash128 of the address upper-cased as OrdinalIgnoreCase compares it, read as UTF-16.</summary>
    private static UInt128 KeyOf(string email)
    {
        Span<char> folded = stackalloc char[email.Length];   // at most 320 (IsUsable)
        email.AsSpan().ToUpperInvariant(folded);
        return System.IO.Hashing.XxHash128.HashToUInt128(System.Runtime.InteropServices.MemoryMarshal.AsBytes(folded));
    }

    public static bool IsUsable(string email)
    {
        if (email.Length is < 3 or > 320)
        {
            return false;
        }

        var at = email.LastIndexOf('@');
        if (at <= 0 || at == email.Length - 1)
        {
            return false;
        }

        foreach (var c in email)
        {
            if (char.IsControl(c) || char.IsWhiteSpace(c))
            {
                return false;
            }
        }

        return true;
    }
}
