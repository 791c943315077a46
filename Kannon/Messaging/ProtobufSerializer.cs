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

    public void Serialize(IBufferWriter<byte> bufferWriter, T value) => value.WriteTo(bufferWriter);

    /// <summary>Throws <see cref="InvalidProtocolBufferException"/> for bytes that are not a <typeparamref name="T"/>; consumers Term those.</summary>
    public T? Deserialize(in ReadOnlySequence<byte> buffer) => Parser.ParseFrom(buffer);

    public INatsSerializer<T> CombineWith(INatsSerializer<T> next) => this;
}
