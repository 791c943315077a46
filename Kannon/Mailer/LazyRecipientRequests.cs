using Kannon.Mailer;

// The generated request types are partial: each carries its recipients still encoded (ADR 0022).
namespace Kannon.Protos.Mailer.ApiV1
{
    public sealed partial class SendHTMLReq : IHasRecipientPayload
    {
        RecipientPayload? IHasRecipientPayload.Payload { get; set; }
    }

    public sealed partial class SendTemplateReq : IHasRecipientPayload
    {
        RecipientPayload? IHasRecipientPayload.Payload { get; set; }
    }
}

namespace Kannon.Mailer
{
    /// <summary>A send request whose recipients the API's request decoder left encoded.</summary>
    internal interface IHasRecipientPayload
    {
        RecipientPayload? Payload { get; set; }
    }

    internal static class RecipientPayloadExtensions
    {
        /// <summary>
        /// The request's recipients: as the decoder kept them, or (a request built in this process, or decoded
        /// elsewhere) its <c>Recipients</c> encoded once. Both are read the same way.
        /// </summary>
        public static RecipientPayload RecipientsOf<T>(T request, Google.Protobuf.Collections.RepeatedField<Protos.Mailer.Types.Recipient> parsed)
            where T : IHasRecipientPayload =>
            request.Payload ?? RecipientPayload.From(parsed);
    }
}
