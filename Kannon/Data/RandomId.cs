using System.Security.Cryptography;

namespace Kannon.Data;

/// <summary>Random parts of row identifiers (<c>template_…</c>, <c>key_…</c>): unguessable, URL- and DNS-safe.</summary>
internal static class RandomId
{
    // 32 symbols: GetString draws each one uniformly, so 24 of them carry 120 bits.
    private const string Base32 = "abcdefghijklmnopqrstuvwxyz234567";

    public const int Length = 24;

    public static string Next() => RandomNumberGenerator.GetString(Base32, Length);
}
