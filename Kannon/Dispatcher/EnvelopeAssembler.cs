using Kannon.Protos.Mailer.Types;

namespace Kannon.Dispatcher;

/// <summary>Turns a claimed Delivery and its Batch into an Envelope.</summary>
internal sealed class EnvelopeAssembler
{
    public EmailToSend Build(DispatchPool.Claimed delivery, BatchContent batch) =>
        throw new NotSupportedException("the envelope builder is not wired yet");
}
