using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Kannon.Protos.Bounce.Types;

namespace Kannon.Suppression;

/// <summary>
/// A recipient's request to stop, however it came (the Tracker's one-click POST, or mail to the List-Unsubscribe
/// mailto:): one <c>Bounce</c> event of kind unsubscribe, under one id per Batch and recipient, so both ways and
/// every retry are stored once within the duplicate window.
/// </summary>
internal static class UnsubscribeRequest
{
    public static string MessageId(string batchId, string email) => $"unsubscribe:{batchId}:{email}";

    /// <param name="source">Where it came from: "tracker" or "mailto".</param>
    /// <param name="reportHash">SHA-256 of the mail that asked, when it was mail.</param>
    public static Bounce Event(string batchId, string email, string domain, string source, DateTimeOffset arrivedAt, byte[]? reportHash = null)
    {
        var bounce = new Bounce
        {
            MessageId = batchId,
            Email = email,
            Domain = domain,
            Kind = BounceKind.Unsubscribe,
            ReportingMta = source,
            ArrivedAt = Timestamp.FromDateTimeOffset(arrivedAt),
        };
        if (reportHash is not null)
        {
            bounce.ReportSha256 = ByteString.CopyFrom(reportHash);
        }

        return bounce;
    }
}
