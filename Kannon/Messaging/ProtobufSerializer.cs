using System.Buffers;
using Google.Protobuf;
using NATS.Client.Core;

namespace Kannon.Messaging;

/// <summary>NATS payloads are protobuf (UPSTREAM.md §5), so a Go worker and ours could share a stream.</summary>
internal sealed class ProtobufSerializer<T> : INatsSerializer<T>
    where T : IMessage<T>, new()
{
    public static readonly ProtobufSerializer<T> Default = new();

    private static readonly MessageParser<T> Parser = new(() => new T());

    /// <summary>
    /// Asks the writer for the message's whole size first: written span by span, an Envelope made NATS's pooled
    /// writer grow (and rent) its buffer several times per publish.
    /// </summary>
    public void Serialize(IBufferWriter<byte> bufferWriter, T value)
    {
        var size = value.CalculateSize();
        value.WriteTo(bufferWriter.GetSpan(size)[..size]);
        bufferWriter.Advance(size);
    }

    /// <summary>Throws <see cref="InvalidProtocolBufferException"/> for bytes that are not a <typeparamref name="T"/>; consumers Term those.</summary>
    public T? Deserialize(in ReadOnlySequence<byte> buffer) => Parser.ParseFrom(buffer);

    public INatsSerializer<T> CombineWith(INatsSerializer<T> next) => this;
}
