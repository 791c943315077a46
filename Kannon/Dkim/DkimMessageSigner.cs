using System.Buffers;
using System.Buffers.Text;
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
    private readonly byte[] _prefix;
    private readonly int _prefixColumn;

    // Bytes of one signature: the key's modulus, rounded up to whole bytes.
    private readonly int _signatureLength;

    private DkimMessageSigner(byte[] pkcs1, string domain, string selector)
    {
        _pkcs1 = pkcs1;

        // The tags every signature of this key starts with, folded once.
        var prefix = new ArrayBufferWriter<byte>(256);
        prefix.Write("DKIM-Signature: v=1"u8);
        var column = "DKIM-Signature: v=1".Length;
        foreach (var tag in new[] { "a=rsa-sha256", "c=relaxed/relaxed", $"d={domain}", $"s={selector}" })
        {
            column = Tag(prefix, column, Encoding.ASCII.GetBytes(tag));
        }

        _prefix = prefix.WrittenSpan.ToArray();
        _prefixColumn = column;

        var key = NewKey();
        _signatureLength = (key.KeySize + 7) / 8;
        _keys.Add(key);
    }

    /// <exception cref="FormatException">the key is not base64 of a PKCS#1 DER RSA private key</exception>
    public static DkimMessageSigner Create(DkimMaterial material)
    {
        try
        {
            var pkcs1 = Convert.FromBase64String(material.PrivateKey);
            return new DkimMessageSigner(pkcs1, material.Domain, material.Selector);
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            throw new FormatException($"DKIM key {material.Selector}._domainkey.{material.Domain} is not a base64 PKCS#1 RSA private key", e);
        }
    }

    /// <summary>
    /// The signed message: a DKIM-Signature field over <paramref name="headers"/> (those present, each once,
    /// the bottom-most instance), then <paramref name="message"/> unchanged. CRLF line endings expected.
    /// Allocates only the returned array: the field and the canonical forms go into buffers the thread keeps.
    /// </summary>
    public byte[] Sign(ReadOnlySpan<byte> message, IReadOnlyList<string> headers, DateTimeOffset time)
    {
        var split = message.IndexOf("\r\n\r\n"u8);
        var headerBlock = split < 0 ? message : message[..(split + 2)];
        var body = split < 0 ? [] : message[(split + 4)..];

        Span<Range> last = headers.Count <= 32 ? stackalloc Range[headers.Count] : new Range[headers.Count];
        FindLast(headerBlock, headers, last);
        Span<byte> bodyHash = stackalloc byte[SHA256.HashSizeInBytes];
        BodyHash(body, bodyHash);

        var field = Scratch.Field;
        field.ResetWrittenCount();
        var column = SignatureField(field, headers, last, bodyHash, time);

        var canonical = Scratch.Canonical;
        canonical.ResetWrittenCount();
        for (var i = 0; i < headers.Count; i++)
        {
            if (!last[i].Equals(default(Range)))
            {
                Relaxed.Header(headerBlock[last[i]], canonical);
                canonical.Write("\r\n"u8);
            }
        }

        // The signature field itself, b= empty and without its final CRLF (RFC 6376 §3.7).
        Relaxed.Header(field.WrittenSpan, canonical);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(canonical.WrittenSpan, hash);
        // The key's size, not a fixed buffer: a key of more than 4,096 bits signs in more than 512 bytes.
        Span<byte> signature = _signatureLength <= 1024 ? stackalloc byte[_signatureLength] : new byte[_signatureLength];
        signature = signature[..SignHash(hash, signature)];

        Span<byte> base64 = stackalloc byte[Base64.GetMaxEncodedToUtf8Length(signature.Length)];
        Base64.EncodeToUtf8(signature, base64, out _, out var encoded);
        base64 = base64[..encoded];

        // The signature folded: what fits on the field's last line, then lines of FoldWidth - 1 after a tab.
        var firstRoom = Math.Max(1, FoldWidth - column);
        var folds = base64.Length <= firstRoom ? 0 : (base64.Length - firstRoom + FoldWidth - 2) / (FoldWidth - 1);
        var output = new byte[field.WrittenCount + base64.Length + (folds * 3) + 2 + message.Length];
        field.WrittenSpan.CopyTo(output);
        var at = field.WrittenCount;
        var room = firstRoom;
        while (!base64.IsEmpty)
        {
            if (at > field.WrittenCount)
            {
                "\r\n\t"u8.CopyTo(output.AsSpan(at));
                at += 3;
            }

            var take = Math.Min(room, base64.Length);
            base64[..take].CopyTo(output.AsSpan(at));
            at += take;
            base64 = base64[take..];
            room = FoldWidth - 1;
        }

        "\r\n"u8.CopyTo(output.AsSpan(at));
        message.CopyTo(output.AsSpan(at + 2));
        Scratch.LetGoOfLarge();
        return output;
    }

    /// <summary>
    /// For each name in <paramref name="headers"/>, the range in <paramref name="block"/> of its bottom-most field
    /// (folded lines joined, without the final CRLF); the default range where the message has none.
    /// </summary>
    private static void FindLast(ReadOnlySpan<byte> block, IReadOnlyList<string> headers, Span<Range> last)
    {
        last.Clear();
        var start = 0;
        var at = 0;
        while (at < block.Length)
        {
            var end = block[at..].IndexOf("\r\n"u8);
            var next = end < 0 ? block.Length : at + end + 2;
            if (next < block.Length && block[next] is (byte)' ' or (byte)'\t')
            {
                at = next;
                continue;
            }

            var length = (end < 0 ? block.Length : at + end) - start;
            var colon = block.Slice(start, length).IndexOf((byte)':');
            if (colon > 0)
            {
                var name = block.Slice(start, colon).TrimEnd(" \t"u8);
                for (var i = 0; i < headers.Count; i++)
                {
                    if (Ascii.EqualsIgnoreCase(name, headers[i]))
                    {
                        last[i] = new Range(start, start + length);
                    }
                }
            }

            start = at = next;
        }
    }

    /// <summary>
    /// Writes the DKIM-Signature field up to its empty <c>b=</c>, folded between tags, and returns the column after it.
    /// Relaxed canonicalization makes each fold one space, the same for the verifier.
    /// </summary>
    private int SignatureField(ArrayBufferWriter<byte> output, IReadOnlyList<string> headers, ReadOnlySpan<Range> last, ReadOnlySpan<byte> bodyHash, DateTimeOffset time)
    {
        output.Write(_prefix);
        Span<byte> tag = stackalloc byte[2 + 20];
        "t="u8.CopyTo(tag);
        time.ToUnixTimeSeconds().TryFormat(tag[2..], out var digits, provider: CultureInfo.InvariantCulture);
        var column = Tag(output, _prefixColumn, tag[..(2 + digits)]);

        var names = 2;
        for (var i = 0; i < headers.Count; i++)
        {
            names += last[i].Equals(default(Range)) ? 0 : headers[i].Length + 1;
        }

        var list = ArrayPool<byte>.Shared.Rent(names);
        try
        {
            "h="u8.CopyTo(list);
            var at = 2;
            for (var i = 0; i < headers.Count; i++)
            {
                if (last[i].Equals(default(Range)))
                {
                    continue;
                }

                if (at > 2)
                {
                    list[at++] = (byte)':';
                }

                at += Ascii.ToLower(headers[i], list.AsSpan(at), out var lowered) == OperationStatus.Done
                    ? lowered
                    : throw new ArgumentException($"a header name is not ASCII: {headers[i]}", nameof(headers));
            }

            column = Tag(output, column, list.AsSpan(0, at));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(list);
        }

        Span<byte> bh = stackalloc byte[3 + 64];
        "bh="u8.CopyTo(bh);
        Base64.EncodeToUtf8(bodyHash, bh[3..], out _, out var encoded);
        column = Tag(output, column, bh[..(3 + encoded)]);
        return Tag(output, column, "b="u8);
    }

    /// <summary>"; " or ";CRLF TAB" (when the tag would pass the fold width), then the tag; returns the new column.</summary>
    private static int Tag(ArrayBufferWriter<byte> output, int column, ReadOnlySpan<byte> tag)
    {
        var fold = column + tag.Length + 2 > FoldWidth;
        output.Write(fold ? ";\r\n\t"u8 : "; "u8);
        output.Write(tag);
        return (fold ? 1 : column + 2) + tag.Length;
    }

    private static void BodyHash(ReadOnlySpan<byte> body, Span<byte> hash)
    {
        var canonical = ArrayPool<byte>.Shared.Rent(body.Length + 2);
        try
        {
            var length = Relaxed.Body(body, canonical);
            SHA256.HashData(canonical.AsSpan(0, length), hash);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(canonical);
        }
    }

    private int SignHash(ReadOnlySpan<byte> hash, Span<byte> signature)
    {
        if (!_keys.TryTake(out var rsa))
        {
            rsa = NewKey();
        }

        try
        {
            return rsa.TrySignHash(hash, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1, out var written)
                ? written
                : throw new CryptographicException($"the DKIM key's signature does not fit {signature.Length} bytes");
        }
        finally
        {
            _keys.Add(rsa);
        }
    }

    /// <summary>The buffers a thread reuses for every signature it makes.</summary>
    private static class Scratch
    {
        [ThreadStatic]
        private static ArrayBufferWriter<byte>? _field;

        [ThreadStatic]
        private static ArrayBufferWriter<byte>? _canonical;

        public static ArrayBufferWriter<byte> Field => _field ??= new ArrayBufferWriter<byte>(1024);

        public static ArrayBufferWriter<byte> Canonical => _canonical ??= new ArrayBufferWriter<byte>(4096);

        /// <summary>A buffer that grew past 64 KB (a message with huge signed headers) is not kept for the thread's lifetime.</summary>
        public static void LetGoOfLarge()
        {
            const int MaxKeptCapacity = 64 * 1024;
            if (_field?.Capacity > MaxKeptCapacity)
            {
                _field = null;
            }

            if (_canonical?.Capacity > MaxKeptCapacity)
            {
                _canonical = null;
            }
        }
    }

    private RSA NewKey()
    {
        var rsa = RSA.Create();
        rsa.ImportRSAPrivateKey(_pkcs1, out _);
        return rsa;
    }
}
