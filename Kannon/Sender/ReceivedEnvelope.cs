using System.Buffers;
using Google.Protobuf;
using Kannon.Protos.Mailer.Types;
using NATS.Client.Core;

namespace Kannon.Sender;

/// <summary>
/// An Envelope as the Sender holds it while it works on it: the fields parsed as usual, the body a range of one
/// pooled copy of the NATS payload instead of an array of its own (ADR 0026). An SMTP transaction outlives several
/// gen0 collections, so a body of its own was promoted, then died in gen2, ~10 MB/s at full speed. The copy goes back
/// to the pool once, by <see cref="Release"/>, when nothing can read the body any more.
/// </summary>
internal sealed class ReceivedEnvelope
{
    private const uint BodyTag = (EmailToSend.BodyFieldNumber << 3) | 2;

    /// <summary>
    /// The Sender's own pool, not the shared one: with ~50 transactions in flight it held more 32 KB arrays than the
    /// shared pool keeps per size, so NATS's publishes (which rent the same size) missed it and allocated instead. An
    /// Envelope over 128 KB (attachments) gets an array of its own. What is kept is what was in flight at once.
    /// </summary>
    private static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(maxArrayLength: 128 * 1024, maxArraysPerBucket: 1024);

    private byte[]? _pooled;

    private ReceivedEnvelope(EmailToSend email, byte[]? pooled)
    {
        Email = email;
        _pooled = pooled;
    }

    /// <summary>The Envelope; its body is only valid until <see cref="Release"/>.</summary>
    public EmailToSend Email { get; }

    public static INatsDeserialize<ReceivedEnvelope> Deserializer { get; } = new PooledDeserializer();

    /// <summary>
    /// Reads an encoded <see cref="EmailToSend"/> exactly as protobuf's parser would (the last body wins, as for any
    /// repeated scalar) with its body left in a pooled copy.
    /// </summary>
    /// <exception cref="InvalidProtocolBufferException">The bytes are not an EmailToSend.</exception>
    public static ReceivedEnvelope Parse(in ReadOnlySequence<byte> payload)
    {
        var length = checked((int)payload.Length);
        var pooled = Pool.Rent(length);
        try
        {
            payload.CopyTo(pooled);
            var bodies = new List<(int Offset, int Length)>(1);
            var head = Protos.EncodedFields.Split(pooled, length, BodyTag, bodies);
            var email = EmailToSend.Parser.ParseFrom(head);
            if (bodies.Count == 0)
            {
                Pool.Return(pooled);
                return new ReceivedEnvelope(email, null);
            }

            var (offset, bodyLength) = bodies[^1];
            email.Body = UnsafeByteOperations.UnsafeWrap(pooled.AsMemory(offset, bodyLength));
            return new ReceivedEnvelope(email, pooled);
        }
        catch
        {
            Pool.Return(pooled);
            throw;
        }
    }

    /// <summary>Gives the body's copy back to the pool; only the first call does, and the body is empty afterwards.</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _pooled, null) is { } pooled)
        {
            Email.Body = ByteString.Empty;
            Pool.Return(pooled);
        }
    }

    /// <summary>NATS's deserializer: undecodable bytes end up in the message's error, and the Sender terminates it.</summary>
    private sealed class PooledDeserializer : INatsDeserialize<ReceivedEnvelope>
    {
        public ReceivedEnvelope? Deserialize(in ReadOnlySequence<byte> buffer) => Parse(buffer);
    }
}
