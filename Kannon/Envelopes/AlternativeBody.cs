using System.Buffers;
using System.Text;
using MimeKit.Encodings;

namespace Kannon.Envelopes;

/// <summary>
/// An Envelope's body when it has no attachments: <c>multipart/alternative</c> of a text/plain and a text/html
/// part, UTF-8, quoted-printable, CRLF lines, the bytes MimeKit's <c>MultipartAlternative</c> writes for the same
/// parts, written straight into the message buffer with MimeKit's own encoder instead of through a MIME tree,
/// a stream per part and two filters per part (ADR 0025).
/// </summary>
internal static class AlternativeBody
{
    /// <summary>The <c>Content-Type</c> value of the whole message for <paramref name="boundary"/>.</summary>
    public static string ContentType(string boundary) => $"multipart/alternative; boundary=\"{boundary}\"";

    /// <summary>
    /// A fresh boundary: <c>=-</c> and 16 characters of base64. Quoted-printable writes every <c>=</c> as <c>=3D</c>,
    /// so no line of either part can be the boundary's delimiter, whatever the text says.
    /// </summary>
    public static string NewBoundary()
    {
        Span<byte> random = stackalloc byte[12];
        Random.Shared.NextBytes(random);
        return "=-" + Convert.ToBase64String(random);
    }

    public static void Write(IBufferWriter<byte> output, string boundary, StringBuilder text, StringBuilder html)
    {
        var delimiter = Encoding.ASCII.GetBytes("--" + boundary);
        output.Write(delimiter);
        output.Write("\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"u8);
        QuotedPrintable(output, text);
        output.Write("\r\n"u8);
        output.Write(delimiter);
        output.Write("\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"u8);
        QuotedPrintable(output, html);
        output.Write("\r\n"u8);
        output.Write(delimiter);
        output.Write("--\r\n"u8);
    }

    /// <summary>
    /// <paramref name="value"/> as UTF-8, quoted-printable with CRLF line ends. MimeKit's encoder ends lines with LF
    /// (its writer's filter turns them into CRLF): every LF it writes is a line end, and it writes no bare CR.
    /// </summary>
    private static void QuotedPrintable(IBufferWriter<byte> output, StringBuilder value)
    {
        var chars = ArrayPool<char>.Shared.Rent(value.Length);
        var utf8 = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(value.Length));
        var encoder = new QuotedPrintableEncoder();
        var encoded = ArrayPool<byte>.Shared.Rent(encoder.EstimateOutputLength(utf8.Length));
        try
        {
            value.CopyTo(0, chars, value.Length);
            var length = Encoding.UTF8.GetBytes(chars.AsSpan(0, value.Length), utf8);
            var written = encoder.Flush(utf8, 0, length, encoded);
            var lines = encoded.AsSpan(0, written);
            var target = output.GetSpan(lines.Length + lines.Count((byte)'\n'));
            var at = 0;
            while (lines.IndexOf((byte)'\n') is var end and >= 0)
            {
                lines[..end].CopyTo(target[at..]);
                at += end;
                target[at++] = (byte)'\r';
                target[at++] = (byte)'\n';
                lines = lines[(end + 1)..];
            }

            lines.CopyTo(target[at..]);
            output.Advance(at + lines.Length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(encoded);
            ArrayPool<byte>.Shared.Return(utf8);
            ArrayPool<char>.Shared.Return(chars);
        }
    }
}
