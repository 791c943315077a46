using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text;

namespace Kannon.Tests.Tracking;

/// <summary>
/// Forgeries of a compact tracking token (ADR 0017) the way an attacker would make them: the same layout
/// with a claim changed and the lengths fixed up, keeping the original MAC; or no valid MAC at all.
/// </summary>
internal static class TokenTampering
{
    private const int MacLength = 16;

    /// <summary>The token with <paramref name="from"/> replaced by <paramref name="to"/> in its Batch id, address or URL, and the original MAC.</summary>
    public static string Tamper(string token, string from, string to)
    {
        var body = Base64Url.DecodeFromChars(token);
        var (header, strings, url, mac) = Split(body);
        var changed = strings.Select(s => s.Replace(from, to, StringComparison.Ordinal)).ToArray();
        var output = new List<byte>(header);
        foreach (var value in changed)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            var length = new byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)bytes.Length);
            output.AddRange(length);
            output.AddRange(bytes);
        }

        output.AddRange(Encoding.UTF8.GetBytes(url.Replace(from, to, StringComparison.Ordinal)));
        output.AddRange(mac);
        var tampered = Base64Url.EncodeToString(output.ToArray());
        return tampered != token ? tampered : throw new ArgumentException($"'{from}' is not in the token");
    }

    /// <summary>The same claims with the MAC zeroed.</summary>
    public static string Unsigned(string token)
    {
        var body = Base64Url.DecodeFromChars(token);
        Array.Clear(body, body.Length - MacLength, MacLength);
        return Base64Url.EncodeToString(body);
    }

    private static (byte[] Header, string[] Strings, string Url, byte[] Mac) Split(byte[] body)
    {
        var at = 7 + body[6];
        var header = body[..at];
        var strings = new string[2];
        for (var i = 0; i < 2; i++)
        {
            var length = BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(at));
            strings[i] = Encoding.UTF8.GetString(body, at + 2, length);
            at += 2 + length;
        }

        return (header, strings, Encoding.UTF8.GetString(body, at, body.Length - MacLength - at), body[^MacLength..]);
    }
}
