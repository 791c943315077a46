using Google.Protobuf;

namespace Kannon.Mailer;

/// <summary>
/// The <c>recipients</c> of a SendHTML or SendTemplate request kept as the bytes they came in, one range per
/// <c>Recipient</c> message, and read one at a time while they are copied into the Pool (ADR 0022). A call of 100,000
/// recipients is then never 100,000 <c>Recipient</c> objects with a map each (~55 MB), and reading overlaps the COPY.
/// </summary>
internal sealed class RecipientPayload
{
    /// <summary>Field 6 of SendHTMLReq and SendTemplateReq, length-delimited: <c>repeated Recipient recipients = 6</c>.</summary>
    public const uint RecipientsTag = (6 << 3) | 2;

    private const uint FieldTag = (2 << 3) | 2;

    private readonly byte[] _buffer;
    private readonly List<(int Offset, int Length)> _recipients;

    private RecipientPayload(byte[] buffer, List<(int Offset, int Length)> recipients)
    {
        _buffer = buffer;
        _recipients = recipients;
    }

    public static RecipientPayload Empty { get; } = new([], []);

    public int Count => _recipients.Count;

    /// <summary>
    /// Splits an encoded request into everything but its recipients (to parse as usual) and its recipients (kept
    /// encoded). Fields keep their order, so the head parses exactly as the whole request would, recipients aside.
    /// </summary>
    /// <exception cref="InvalidProtocolBufferException">The request is not well-formed protobuf.</exception>
    public static (byte[] Head, RecipientPayload Recipients) Split(byte[] request)
    {
        var input = new CodedInputStream(request);
        var recipients = new List<(int, int)>();
        var head = new List<(int Start, int End)>();   // the other fields' bytes, in order
        for (var start = 0; input.ReadTag() is var tag && tag != 0; start = (int)input.Position)
        {
            var contentStart = (int)input.Position;
            input.SkipLastField();
            if (tag != RecipientsTag)
            {
                head.Add((start, (int)input.Position));
                continue;
            }

            var length = ReadLengthAt(request, ref contentStart);
            recipients.Add((contentStart, length));
        }

        if (recipients.Count == 0)
        {
            return (request, Empty);
        }

        var headBytes = new byte[head.Sum(r => r.End - r.Start)];
        var written = 0;
        foreach (var (start, end) in head)
        {
            request.AsSpan(start, end - start).CopyTo(headBytes.AsSpan(written));
            written += end - start;
        }

        return (headBytes, new RecipientPayload(request, recipients));
    }

    /// <summary>Recipients given as objects (a request built in this process): encoded once, read like any other.</summary>
    public static RecipientPayload From(IReadOnlyList<Protos.Mailer.Types.Recipient> recipients)
    {
        if (recipients.Count == 0)
        {
            return Empty;
        }

        var encoded = recipients.Select(r => r.ToByteArray()).ToList();
        var buffer = new byte[encoded.Sum(e => e.Length)];
        var ranges = new List<(int, int)>(encoded.Count);
        var offset = 0;
        foreach (var bytes in encoded)
        {
            bytes.CopyTo(buffer, offset);
            ranges.Add((offset, bytes.Length));
            offset += bytes.Length;
        }

        return new RecipientPayload(buffer, ranges);
    }

    /// <summary>Whether any recipient has a field (then the Pool's <c>fields</c> column is written for every row).</summary>
    public bool AnyFields()
    {
        foreach (var (offset, length) in _recipients)
        {
            var input = new CodedInputStream(_buffer, offset, length);
            try
            {
                for (var tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
                {
                    if (tag == FieldTag)
                    {
                        return true;
                    }

                    input.SkipLastField();
                }
            }
            catch (InvalidProtocolBufferException)
            {
                return true;   // refused, with its index, when it is read
            }
        }

        return false;
    }

    /// <summary>
    /// Reads recipient <paramref name="index"/> into <paramref name="recipient"/> (cleared first, then reused for the
    /// next), with protobuf's own parser, so it reads exactly as the whole request would have.
    /// </summary>
    /// <exception cref="InvalidProtocolBufferException">The recipient is not a well-formed <c>Recipient</c>.</exception>
    public void Read(int index, Protos.Mailer.Types.Recipient recipient)
    {
        var (offset, length) = _recipients[index];
        recipient.Email = "";
        recipient.Fields.Clear();
        recipient.MergeFrom(_buffer.AsSpan(offset, length));
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
