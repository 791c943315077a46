using Google.Protobuf;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Kannon.Messaging;

/// <summary>
/// Publishes protobuf messages to JetStream and waits for the stream's ack. Every publish carries a
/// Nats-Msg-Id, so a retried publish inside the duplicate window is stored once.
/// </summary>
internal sealed class EventPublisher(INatsJSContext jetStream)
{
    public async Task PublishAsync<T>(string subject, T message, string messageId, CancellationToken cancellationToken, NatsHeaders? headers = null)
        where T : IMessage<T>, new()
    {
        PubAckResponse ack;
        try
        {
            ack = await jetStream.PublishAsync(subject, message, ProtobufSerializer<T>.Default,
                new NatsJSPubOpts { MsgId = messageId }, headers, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or TimeoutException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new PublishException(subject, e.Message, e);
        }

        if (ack.Error is { } error)
        {
            throw new PublishException(subject, $"{error.Code} {error.Description}");
        }
    }
}
