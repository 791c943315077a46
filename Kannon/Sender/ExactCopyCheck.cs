namespace Kannon.Sender;

/// <summary>
/// A write-only stream that compares what is written with the bytes we hold: MimeKit's serialization of
/// a loaded message must reproduce the signed bytes exactly (DKIM), and BDAT needs their exact count.
/// </summary>
internal sealed class ExactCopyCheck(ReadOnlyMemory<byte> expected) : Stream
{
    private long _written;
    private bool _differs;

    /// <summary>Every byte matched, nothing missing; a CRLF added to a message that did not end with one is allowed.</summary>
    public bool Identical =>
        !_differs && (_written == expected.Length || (_written == expected.Length + 2 && !expected.Span.EndsWith("\r\n"u8)));

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _written;

    public override long Position
    {
        get => _written;
        set => throw new NotSupportedException();
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (!_differs)
        {
            var remaining = Math.Max(0, expected.Length - _written);
            var compared = (int)Math.Min(remaining, buffer.Length);
            _differs = !buffer[..compared].SequenceEqual(expected.Span.Slice((int)_written, compared))
                       || (compared < buffer.Length && !buffer[compared..].SequenceEqual("\r\n"u8));
        }

        _written += buffer.Length;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
