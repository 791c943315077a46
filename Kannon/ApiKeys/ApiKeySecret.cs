using System.Security.Cryptography;
using System.Text;

namespace Kannon.ApiKeys;

/// <summary>The plaintext of an API key: made once, shown once, stored only as hash and prefix.</summary>
internal static class ApiKeySecret
{
    public const string Prefix = "k_";
    public const int RandomLength = 64;
    public const int ShownPrefixLength = 8;

    private const string Alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary><c>k_</c> + 64 characters of [a-zA-Z0-9], each drawn uniformly from a CSPRNG (no modulo bias).</summary>
    public static string Generate() => Prefix + RandomNumberGenerator.GetString(Alphanumeric, RandomLength);

    /// <summary>Lowercase hex SHA-256 of the UTF-8 plaintext: what <c>api_keys.key_hash</c> holds.</summary>
    public static string Hash(string plaintext) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(plaintext)));

    public static string ShownPrefix(string plaintext) => plaintext[..Math.Min(ShownPrefixLength, plaintext.Length)];

    /// <summary>How a key is shown everywhere but in the response that creates it.</summary>
    public static string Mask(string keyPrefix) => keyPrefix + "...";
}
