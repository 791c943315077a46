using Kannon.Envelopes;
using Kannon.Protos.Mailer.Types;

namespace Kannon.Dispatcher;

/// <summary>Turns a claimed Delivery and its Batch into an Envelope, stamped with the build time.</summary>
internal sealed class EnvelopeAssembler(EnvelopeBuilder builder, TimeProvider time)
{
    public EmailToSend Build(DispatchPool.Claimed delivery, EnvelopeBatch batch) =>
        builder.Build(batch, new EnvelopeRecipient { Email = delivery.Email, Fields = delivery.Fields, Tracking = delivery.Tracking }, time.GetUtcNow());
}
