using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Kannon.Protos.Bounce.Types;

namespace Kannon.Smtp;

/// <summary>Builds the <c>Bounce</c> events the inbound server publishes on <c>kannon.bounce</c>, one per parsed report.</summary>
internal static class BounceEvents
{
    public static Bounce Dsn(BounceAddress about, ReportVerdict verdict, DateTimeOffset arrivedAt, byte[] reportHash) => new()
    {
        MessageId = about.BatchId,
        Email = about.Recipient,
        Domain = about.Domain,
        Kind = BounceKind.Dsn,
        Action = verdict.Action,
        Status = verdict.Status,
        Diagnostic = verdict.Diagnostic,
        ReportingMta = verdict.ReportingMta,
        ArrivedAt = Timestamp.FromDateTimeOffset(arrivedAt),
        ReportSha256 = ByteString.CopyFrom(reportHash),
    };

    public static Bounce Complaint(BounceAddress about, FeedbackReport report, DateTimeOffset arrivedAt, byte[] reportHash) => new()
    {
        MessageId = about.BatchId,
        Email = about.Recipient,
        Domain = about.Domain,
        Kind = BounceKind.Arf,
        Diagnostic = report.FeedbackType,
        ReportingMta = report.ReportingMta,
        ArrivedAt = Timestamp.FromDateTimeOffset(arrivedAt),
        ReportSha256 = ByteString.CopyFrom(reportHash),
    };
}
