using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Kannon.Dkim;

/// <summary>
/// Signs a message that is already written (RFC 6376, rsa-sha256, relaxed/relaxed) and returns its bytes with
/// the DKIM-Signature field in front. One pass over the written bytes instead of MimeKit's second write of the
/// whole message for the body hash, and SHA-256 from .NET instead of BouncyCastle's managed digest: about
/// half of what building an Envelope cost. The RSA operation is .NET's (OpenSSL).
/// </summary>
internal sealed class DkimMessageSigner
{
    private const int FoldWidth = 76;

    // RSA instances are not documented as safe for concurrent use: each signature borrows one.
    private readonly ConcurrentBag<RSA> _keys = [];
    private readonly byte[] _pkcs1;
    private readonly string _domain;
    private readonly string _selector;

    private DkimMessageSigner(byte[] pkcs1, string domain, string selector)
    {
        _pkcs1 = pkcs1;
        _domain = domain;
        _selector = selector;
    }

    /// <exception cref="FormatException">the key is not base64 of a PKCS#1 DER RSA private key</exception>
    public static DkimMessageSigner Create(DkimMaterial material)
    {
        try
        {
            var pkcs1 = Convert.FromBase64String(material.PrivateKey);
            var signer = new DkimMessageSigner(pkcs1, material.Domain, material.Selector);
            signer._keys.Add(signer.NewKey());
            return signer;
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            throw new FormatException($"DKIM key {material.Selector}._domainkey.{material.Domain} is not a base64 PKCS#1 RSA private key", e);
        }
    }

    /// <summary>
    /// The signed message: a DKIM-Signature field over <paramref name="headers"/> (those present, each once,
    /// the bottom-most instance), then <paramref name="message"/> unchanged. CRLF line endings expected.
    /// </summary>
    public byte[] Sign(ReadOnlySpan<byte> message, IReadOnlyList<string> headers, DateTimeOffset time)
    {
        var split = message.IndexOf("\r\n\r\n"u8);
        var headerBlock = split < 0 ? message : message[..(split + 2)];
        var body = split < 0 ? [] : message[(split + 4)..];

        var fields = HeaderFields.Parse(headerBlock);
        var signed = headers.Where(h => fields.Contains(h)).ToList();
        var field = SignatureField(signed, BodyHash(body), time);

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var canonical = new ArrayBufferWriter<byte>(1024);
        foreach (var name in signed)
        {
            Relaxed.Header(fields.Last(name), canonical);
            canonical.Write("\r\n"u8);
        }

        // The signature field itself, b= empty and without its final CRLF (RFC 6376 §3.7).
        Relaxed.Header(Encoding.ASCII.GetBytes(field), canonical);
        hash.AppendData(canonical.WrittenSpan);
        var signature = SignHash(hash.GetHashAndReset());

        var header = field + Fold(Convert.ToBase64String(signature), field.Length - (field.LastIndexOf('\n') + 1)) + "\r\n";
        var output = new byte[Encoding.ASCII.GetByteCount(header) + message.Length];
        var written = Encoding.ASCII.GetBytes(header, output);
        message.CopyTo(output.AsSpan(written));
        return output;
    }

    private string SignatureField(IReadOnlyList<string> signed, byte[] bodyHash, DateTimeOffset time)
    {
        var tags = new[]
        {
            "v=1", "a=rsa-sha256", "c=relaxed/relaxed", $"d={_domain}", $"s={_selector}",
            $"t={time.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}",
            $"h={string.Join(':', signed.Select(h => h.ToLowerInvariant()))}",
            $"bh={Convert.ToBase64String(bodyHash)}",
        };

        // Folded between tags; relaxed canonicalization makes the folds one space, the same for the verifier.
        var text = new StringBuilder("DKIM-Signature: ");
        var column = text.Length;
        var first = true;
        foreach (var tag in tags.Append("b="))
        {
            if (!first)
            {
                var fold = column + tag.Length + 2 > FoldWidth;
                text.Append(fold ? ";\r\n\t" : "; ");
                column = fold ? 1 : column + 2;
            }

            text.Append(tag);
            column += tag.Length;
            first = false;
        }

        return text.ToString();
    }

    private static string Fold(string value, int column)
    {
        var text = new StringBuilder(value.Length + (value.Length / FoldWidth * 3) + 3);
        var room = Math.Max(1, FoldWidth - column);
        var at = 0;
        while (at < value.Length)
        {
            var take = Math.Min(room, value.Length - at);
            if (at > 0)
            {
                text.Append("\r\n\t");
            }

            text.Append(value, at, take);
            at += take;
            room = FoldWidth - 1;
        }

        return text.ToString();
    }

    private static byte[] BodyHash(ReadOnlySpan<byte> body)
    {
        var canonical = ArrayPool<byte>.Shared.Rent(body.Length + 2);
        try
        {
            var length = Relaxed.Body(body, canonical);
            return SHA256.HashData(canonical.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(canonical);
        }
    }

    private byte[] SignHash(byte[] hash)
    {
        if (!_keys.TryTake(out var rsa))
        {
            rsa = NewKey();
        }

        try
        {
            return rsa.SignHash(hash, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }
        finally
        {
            _keys.Add(rsa);
        }
    }

    private RSA NewKey()
    {
        var rsa = RSA.Create();
        rsa.ImportRSAPrivateKey(_pkcs1, out _);
        return rsa;
    }
}
