using Google.Protobuf;

namespace Kannon.Protos;

/// <summary>
/// Takes one field out of an encoded protobuf message without decoding it: the other fields' bytes, in their order,
/// parse with protobuf's own parser exactly as the whole message would (that field aside), and the field's
/// occurrences stay ranges of the caller's buffer. Intake keeps a request's recipients this way (ADR 0022), the
/// Sender an Envelope's body (ADR 0026).
/// </summary>
internal static class EncodedFields
{
    /// <summary>
    /// Splits <paramref name="buffer"/>'s first <paramref name="length"/> bytes: adds the content range of every
    /// occurrence of the length-delimited field <paramref name="tag"/> to <paramref name="ranges"/>, in order, and
    /// returns the other fields' bytes, exactly (the buffer itself when it is exactly the message and the field does not occur).
    /// </summary>
    /// <exception cref="InvalidProtocolBufferException">The bytes are not well-formed protobuf.</exception>
    public static byte[] Split(byte[] buffer, int length, uint tag, List<(int Offset, int Length)> ranges)
    {
        var found = ranges.Count;
        var input = new CodedInputStream(buffer, 0, length);
        var head = new List<(int Start, int End)>();   // the other fields' bytes, in order
        var headLength = 0;
        for (var start = 0; input.ReadTag() is var next && next != 0; start = (int)input.Position)
        {
            var contentStart = (int)input.Position;
            input.SkipLastField();
            if (next != tag)
            {
                head.Add((start, (int)input.Position));
                headLength += (int)input.Position - start;
                continue;
            }

            var contentLength = ReadLengthAt(buffer, ref contentStart);
            ranges.Add((contentStart, contentLength));
        }

        if (ranges.Count == found && length == buffer.Length)
        {
            return buffer;
        }

        var headBytes = new byte[headLength];
        var written = 0;
        foreach (var (start, end) in head)
        {
            buffer.AsSpan(start, end - start).CopyTo(headBytes.AsSpan(written));
            written += end - start;
        }

        return headBytes;
    }

    /// <summary>Decodes the varint length at <paramref name="position"/> (already checked by the stream's skip) and moves past it.</summary>
    private static int ReadLengthAt(byte[] buffer, ref int position)
    {
        var result = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = buffer[position++];
            result |= (b & 0x7F) << shift;
            if (b < 0x80 || shift >= 28)
            {
                return result;
            }
        }
    }
}
