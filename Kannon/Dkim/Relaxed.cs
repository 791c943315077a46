using System.Buffers;

namespace Kannon.Dkim;

/// <summary>RFC 6376 §3.4.2 and §3.4.4: the "relaxed" canonical forms of a header field and of a body.</summary>
internal static class Relaxed
{
    /// <summary>"name:value" with the name lower-cased, folds undone, runs of white space one space, none at the ends.</summary>
    public static void Header(ReadOnlySpan<byte> field, IBufferWriter<byte> output)
    {
        var colon = field.IndexOf((byte)':');
        var name = field[..colon].TrimEnd(" \t"u8);
        var span = output.GetSpan(field.Length + 1);
        var length = 0;
        foreach (var b in name)
        {
            span[length++] = b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b + 32) : b;
        }

        span[length++] = (byte)':';
        var pendingSpace = false;
        var started = false;
        foreach (var b in field[(colon + 1)..])
        {
            if (b is (byte)'\r' or (byte)'\n')
            {
                continue;
            }

            if (b is (byte)' ' or (byte)'\t')
            {
                pendingSpace = started;
                continue;
            }

            if (pendingSpace)
            {
                span[length++] = (byte)' ';
                pendingSpace = false;
            }

            span[length++] = b;
            started = true;
        }

        output.Advance(length);
    }

    /// <summary>
    /// Writes the canonical body into <paramref name="output"/> (at least body length + 2 long) and returns its
    /// length: white space runs one space, none at line ends, no empty lines at the end, a final CRLF unless empty.
    /// </summary>
    public static int Body(ReadOnlySpan<byte> body, Span<byte> output)
    {
        var length = 0;
        var emptyLines = 0;
        while (!body.IsEmpty)
        {
            var end = body.IndexOf("\r\n"u8);
            var line = end < 0 ? body : body[..end];
            body = end < 0 ? [] : body[(end + 2)..];

            var lineStart = length + (emptyLines * 2);
            var written = lineStart;
            var pendingSpace = false;
            foreach (var b in line)
            {
                if (b is (byte)' ' or (byte)'\t')
                {
                    pendingSpace = true;
                    continue;
                }

                if (pendingSpace)
                {
                    output[written++] = (byte)' ';
                    pendingSpace = false;
                }

                output[written++] = b;
            }

            if (written == lineStart)
            {
                // Empty (or white space only): kept only if a non-empty line follows.
                emptyLines++;
                continue;
            }

            for (var i = 0; i < emptyLines; i++)
            {
                output[length + (i * 2)] = (byte)'\r';
                output[length + (i * 2) + 1] = (byte)'\n';
            }

            emptyLines = 0;
            output[written++] = (byte)'\r';
            output[written++] = (byte)'\n';
            length = written;
        }

        return length;
    }
}
