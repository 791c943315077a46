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
    private readonly bool _rented;
    private int _released;

    private RecipientPayload(byte[] buffer, List<(int Offset, int Length)> recipients, bool rented = false)
    {
        _buffer = buffer;
        _recipients = recipients;
        _rented = rented;
    }

    public static RecipientPayload Empty { get; } = new([], []);

    public int Count => _recipients.Count;

    /// <summary>
    /// Splits an encoded request, the first <paramref name="length"/> bytes of <paramref name="request"/>, into
    /// everything but its recipients (to parse as usual) and its recipients (kept encoded). Fields keep their order, so
    /// the head parses exactly as the whole request would, recipients aside. A buffer from <see cref="RequestBuffer"/>
    /// (<paramref name="rented"/>) goes back there on <see cref="Release"/>; a request without recipients, which the
    /// API refuses, drops it.
    /// </summary>
    /// <exception cref="InvalidProtocolBufferException">The request is not well-formed protobuf.</exception>
    public static (byte[] Head, RecipientPayload Recipients) Split(byte[] request, int length, bool rented = false)
    {
        var recipients = new List<(int, int)>();
        var head = Protos.EncodedFields.Split(request, length, RecipientsTag, recipients);
        return (head, recipients.Count == 0 ? Empty : new RecipientPayload(request, recipients, rented));
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

    /// <summary>
    /// Intake is done with the recipients: a buffer from <see cref="RequestBuffer"/> goes back for the next call. Only
    /// the first call does anything; reading afterwards throws rather than read another request's bytes.
    /// </summary>
    public void Release()
    {
        if (_rented && Interlocked.Exchange(ref _released, 1) == 0)
        {
            RequestBuffer.Return(_buffer);
        }
    }

    /// <summary>Whether any recipient has a field (then the Pool's <c>fields</c> column is written for every row).</summary>
    public bool AnyFields()
    {
        ThrowIfReleased();
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
        ThrowIfReleased();
        var (offset, length) = _recipients[index];
        recipient.Email = "";
        recipient.Fields.Clear();
        recipient.MergeFrom(_buffer.AsSpan(offset, length));
    }

    private void ThrowIfReleased()
    {
        if (Volatile.Read(ref _released) != 0)
        {
            throw new InvalidOperationException("the recipients were released: their buffer may hold another request");
        }
    }
}
