using System.Security.Cryptography;

namespace Kannon.Mailer;

/// <summary>Collision-free ids for Batches and transient Templates: 24 lower-case base32 characters (120 random bits).</summary>
internal static class RandomId
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    public static string New()
    {
        Span<byte> bytes = stackalloc byte[24];
        RandomNumberGenerator.Fill(bytes);
        Span<char> chars = stackalloc char[24];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = Alphabet[bytes[i] & 31];
        }

        return new string(chars);
    }
}
