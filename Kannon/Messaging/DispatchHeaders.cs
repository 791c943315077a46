using System.Globalization;
using NATS.Client.Core;

namespace Kannon.Messaging;

/// <summary>
/// Which Delivery and attempt an Envelope is, carried as NATS headers from the Dispatcher through the Sender
/// to the outcome, so a redelivered outcome of an old attempt never moves a Delivery that was dispatched again.
/// Protobuf payloads stay exactly the original's.
/// </summary>
internal static class DispatchHeaders
{
    public const string Delivery = "Kannon-Delivery";
    public const string Attempt = "Kannon-Attempt";

    /// <summary>W3C trace context, so the Sender's span joins the trace of the call that created the Batch.</summary>
    public const string TraceParent = "traceparent";

    public static NatsHeaders Create(long deliveryId, int attempt, string? traceParent = null)
    {
        var headers = new NatsHeaders
        {
            [Delivery] = deliveryId.ToString(CultureInfo.InvariantCulture),
            [Attempt] = attempt.ToString(CultureInfo.InvariantCulture),
        };
        if (traceParent is not null)
        {
            headers[TraceParent] = traceParent;
        }

        return headers;
    }

    /// <summary>The trace context a message carries, or default when it has none (a new trace starts).</summary>
    public static System.Diagnostics.ActivityContext TraceContextOf(NatsHeaders? headers) =>
        headers is not null && headers.TryGetValue(TraceParent, out var value)
            && System.Diagnostics.ActivityContext.TryParse(value.ToString(), null, out var context)
            ? context
            : default;

    /// <summary>The dispatch headers of an incoming message, for the message published about it; null when it has none.</summary>
    public static NatsHeaders? CopyFrom(NatsHeaders? headers) =>
        TryRead(headers, out var id, out var attempt)
            ? Create(id, attempt, System.Diagnostics.Activity.Current?.Id)
            : null;

    public static bool TryRead(NatsHeaders? headers, out long deliveryId, out int attempt)
    {
        deliveryId = 0;
        attempt = 0;
        return headers is not null
            && headers.TryGetValue(Delivery, out var id) && long.TryParse(id.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out deliveryId)
            && headers.TryGetValue(Attempt, out var n) && int.TryParse(n.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out attempt);
    }
}
