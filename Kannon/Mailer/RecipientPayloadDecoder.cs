using Google.Protobuf;
using Grpc.Core;
using Kannon.Protos.Mailer.ApiV1;

namespace Kannon.Mailer;

/// <summary>
/// Request decoders for SendHTML and SendTemplate that parse everything but the recipients, which stay encoded in
/// a <see cref="RecipientPayload"/> until intake copies them into the Pool (ADR 0022).
/// </summary>
internal static class RecipientPayloadDecoder
{
    /// <summary>The decoder for <typeparamref name="TRequest"/>, or null when it has no recipients to keep encoded.</summary>
    public static Func<DeserializationContext, TRequest>? For<TRequest>()
        where TRequest : class
    {
        if (typeof(TRequest) == typeof(SendHTMLReq))
        {
            return (Func<DeserializationContext, TRequest>)(object)Decoder(SendHTMLReq.Parser);
        }

        if (typeof(TRequest) == typeof(SendTemplateReq))
        {
            return (Func<DeserializationContext, TRequest>)(object)Decoder(SendTemplateReq.Parser);
        }

        return null;
    }

    /// <exception cref="InvalidProtocolBufferException">The request is not well-formed protobuf.</exception>
    public static T Decode<T>(MessageParser<T> parser, byte[] request) where T : IMessage<T>, IHasRecipientPayload =>
        Decode(parser, request, request.Length, rented: false);

    /// <summary>Decodes the first <paramref name="length"/> bytes of <paramref name="request"/>; a <paramref name="rented"/> one goes back to <see cref="RequestBuffer"/> when the recipients are released.</summary>
    /// <exception cref="InvalidProtocolBufferException">The request is not well-formed protobuf.</exception>
    public static T Decode<T>(MessageParser<T> parser, byte[] request, int length, bool rented)
        where T : IMessage<T>, IHasRecipientPayload
    {
        var (head, recipients) = RecipientPayload.Split(request, length, rented);
        var parsed = parser.ParseFrom(head);
        parsed.Payload = recipients;
        return parsed;
    }

    private static Func<DeserializationContext, T> Decoder<T>(MessageParser<T> parser)
        where T : IMessage<T>, IHasRecipientPayload =>
        context =>
        {
            // The transport's buffer is only ours while this runs: the recipients are read later, from a copy, which
            // MailerService releases when intake is done with it.
            var length = context.PayloadLength;
            var bytes = RequestBuffer.Rent(length);
            System.Buffers.BuffersExtensions.CopyTo(context.PayloadAsReadOnlySequence(), bytes);
            return Decode(parser, bytes, length, rented: true);
        };
}
