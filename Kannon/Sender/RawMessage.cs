using System.Runtime.InteropServices;
using MimeKit;

namespace Kannon.Sender;

/// <summary>
/// An Envelope's signed bytes in the shape MailKit's client sends: only the header block is parsed (MailKit
/// writes parsed headers back byte for byte), and the body is an entity that writes its bytes exactly as the
/// Dispatcher built them, without parsing the MIME tree or re-encoding a part (the DKIM signature covers
/// those bytes). The SMTP envelope (MAIL FROM, RCPT TO) is given to the client separately.
/// </summary>
internal static class RawMessage
{
    /// <param name="size">The exact number of bytes the message writes (SIZE=, BDAT).</param>
    /// <exception cref="FormatException">the bytes have no header block MimeKit can read</exception>
    public static MimeMessage Of(ReadOnlyMemory<byte> bytes, out long size)
    {
        if (!bytes.Span.EndsWith("\r\n"u8))
        {
            // DATA's final "." must start a line; relaxed DKIM reads a missing final line break as there.
            bytes = (byte[])[.. bytes.Span, (byte)'\r', (byte)'\n'];
        }

        size = bytes.Length;
        var split = bytes.Span.IndexOf("\r\n\r\n"u8);
        if (split < 0)
        {
            throw new FormatException("no empty line after the header block");
        }

        HeaderList headers;
        try
        {
            headers = ParseHeaders(Stream(bytes[..(split + 2)]));
        }
        catch (ParseException e)
        {
            throw new FormatException(e.Message, e);
        }

        var message = new MimeMessage(headers);
        var names = message.Headers.Select(h => h.Field).ToList();
        var body = new RawEntity(bytes[(split + 4)..]);
        message.Body = body;

        // Setting a body adds MIME-Version and the body's Content-Type; the bytes already have theirs.
        body.Headers.Clear();
        for (var i = message.Headers.Count - 1; i >= 0; i--)
        {
            if (i >= names.Count || message.Headers[i].Field != names[i])
            {
                message.Headers.RemoveAt(i);
            }
        }

        return message;
    }

    // One parser per thread, its buffers reused: HeaderList.Load makes a parser (and its buffers) per message.
    [ThreadStatic]
    private static MimeParser? _parser;

    private static HeaderList ParseHeaders(Stream block)
    {
        var parser = _parser;
        if (parser is null)
        {
            _parser = parser = new MimeParser(block, MimeFormat.Entity);
        }
        else
        {
            parser.SetStream(block, MimeFormat.Entity);
        }

        try
        {
            return parser.ParseHeaders();
        }
        finally
        {
            // The parser outlives the message; it must not keep the message's bytes alive until the thread's next one.
            parser.SetStream(System.IO.Stream.Null, MimeFormat.Entity);
        }
    }

    private static MemoryStream Stream(ReadOnlyMemory<byte> bytes) =>
        MemoryMarshal.TryGetArray(bytes, out var array)
            ? new MemoryStream(array.Array!, array.Offset, array.Count, writable: false)
            : new MemoryStream(bytes.ToArray(), writable: false);

    /// <summary>
    /// Writes the bytes in pieces: MailKit's DATA filter sizes its output buffer (new for every message) to the largest
    /// write it is given, so one write of the whole message costs a buffer of about twice its size.
    /// </summary>
    private sealed class RawEntity(ReadOnlyMemory<byte> bytes) : MimeEntity(new ContentType("application", "octet-stream"))
    {
        public override void Accept(MimeVisitor visitor)
        {
        }

        public override void Prepare(EncodingConstraint constraint, int maxLineLength = 78)
        {
        }

        private const int Piece = 4096;

        public override void WriteTo(FormatOptions options, Stream stream, bool contentOnly, CancellationToken cancellationToken = default)
        {
            for (var at = 0; at < bytes.Length; at += Piece)
            {
                stream.Write(bytes.Span.Slice(at, Math.Min(Piece, bytes.Length - at)));
            }
        }

        public override async Task WriteToAsync(FormatOptions options, Stream stream, bool contentOnly, CancellationToken cancellationToken = default)
        {
            for (var at = 0; at < bytes.Length; at += Piece)
            {
                await stream.WriteAsync(bytes.Slice(at, Math.Min(Piece, bytes.Length - at)), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
