using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Kannon.Envelopes;

/// <summary>
/// Signs and verifies return paths (ADR 0011): the MAC is HMAC-SHA256 over recipient and Batch id, truncated
/// to 128 bits and written base64url, so only a report about a message we really sent to that recipient can
/// suppress the recipient. Verification tries the current secret, then the previous ones.
/// </summary>
internal sealed class ReturnPathSigner
{
    public const int MacBytes = 16;

    private readonly byte[] _current;
    private readonly byte[][] _all;

    public ReturnPathSigner(IOptions<BounceOptions> options)
    {
        var settings = options.Value;
        _current = Encoding.UTF8.GetBytes(settings.Secret.Trim());
        _all = [_current, .. settings.PreviousSecrets.Where(s => !string.IsNullOrWhiteSpace(s)).Select(s => Encoding.UTF8.GetBytes(s.Trim()))];
    }

    /// <summary>The signed VERP return path of one Delivery (the envelope MAIL FROM).</summary>
    public string ReturnPath(string recipient, string batchId) =>
        EnvelopeIds.ReturnPath(recipient, batchId, Mac(_current, recipient, batchId));

    /// <summary>Whether <paramref name="mac"/> was made by one of our secrets for exactly this recipient and Batch.</summary>
    public bool Verifies(string recipient, string batchId, string mac)
    {
        if (!TryDecode(mac, out var given))
        {
            return false;
        }

        var ok = false;
        foreach (var key in _all)
        {
            // Every key is tried, so the time taken does not tell which one matched.
            ok |= CryptographicOperations.FixedTimeEquals(given, MacBytesOf(key, recipient, batchId));
        }

        return ok;
    }

    /// <summary>Parses a return path and verifies its MAC: true only for one we signed.</summary>
    public bool TryVerify(string returnPath, out string recipient, out string batchId) =>
        EnvelopeIds.TryParseReturnPath(returnPath, out recipient, out batchId, out var mac) && Verifies(recipient, batchId, mac);

    private static string Mac(byte[] key, string recipient, string batchId) =>
        Convert.ToBase64String(MacBytesOf(key, recipient, batchId)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] MacBytesOf(byte[] key, string recipient, string batchId)
    {
        // A NUL separates the fields: no recipient/Batch pair can be shifted into another with the same bytes.
        var input = Encoding.UTF8.GetBytes(recipient + "\0" + batchId);
        return HMACSHA256.HashData(key, input)[..MacBytes];
    }

    private static bool TryDecode(string mac, out byte[] bytes)
    {
        bytes = [];
        if (mac.Length != 22)
        {
            return false;
        }

        var standard = mac.Replace('-', '+').Replace('_', '/') + "==";
        var buffer = new byte[MacBytes + 2];
        if (!Convert.TryFromBase64String(standard, buffer, out var written) || written != MacBytes)
        {
            return false;
        }

        bytes = buffer[..MacBytes];
        return true;
    }
}
