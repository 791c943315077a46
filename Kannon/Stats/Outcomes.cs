using Google.Protobuf.WellKnownTypes;
using Kannon.Protos.Stats.Types;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Stats;

/// <summary>Builds the <c>Stats</c> events every role publishes, and names their type from the payload (never the subject).</summary>
internal static class Outcomes
{
    public static StatsEvent Accepted(string batchId, string email, string domain, DateTimeOffset at) =>
        New(batchId, email, domain, at, new StatsData { Accepted = new StatsDataAccepted() });

    public static StatsEvent Rejected(string batchId, string email, string domain, DateTimeOffset at, string reason) =>
        New(batchId, email, domain, at, new StatsData { Rejected = new StatsDataRejected { Reason = reason } });

    public static StatsEvent Delivered(string batchId, string email, string domain, DateTimeOffset at) =>
        New(batchId, email, domain, at, new StatsData { Delivered = new StatsDataDelivered() });

    public static StatsEvent Bounced(string batchId, string email, string domain, DateTimeOffset at, bool permanent, uint code, string message) =>
        New(batchId, email, domain, at, new StatsData { Bounced = new StatsDataBounced { Permanent = permanent, Code = code, Msg = message } });

    public static StatsEvent Error(string batchId, string email, string domain, DateTimeOffset at, uint code, string message) =>
        New(batchId, email, domain, at, new StatsData { Error = new StatsDataError { Code = code, Msg = message } });

    public static StatsEvent Failed(string batchId, string email, string domain, DateTimeOffset at, string reason) =>
        New(batchId, email, domain, at, new StatsData { Failed = new StatsDataFailed { Reason = reason } });

    public static StatsEvent Opened(string batchId, string email, string domain, DateTimeOffset at, string userAgent, string ip)
    {
        var e = New(batchId, email, domain, at, new StatsData { Opened = new StatsDataOpened { UserAgent = userAgent, Ip = ip } });
        e.Type = StatTypes.Opened;
        return e;
    }

    public static StatsEvent Clicked(string batchId, string email, string domain, DateTimeOffset at, string userAgent, string ip, string url)
    {
        var e = New(batchId, email, domain, at, new StatsData { Clicked = new StatsDataClicked { UserAgent = userAgent, Ip = ip, Url = url } });
        e.Type = StatTypes.Clicked;
        return e;
    }

    /// <summary>
    /// A recipient unsubscribed. The original's <c>StatsData</c> oneof has no member for it (and its wire contract
    /// is frozen), so the event carries empty data and says what it is in <c>type</c>.
    /// </summary>
    public static StatsEvent Unsubscribed(string batchId, string email, string domain, DateTimeOffset at)
    {
        var e = New(batchId, email, domain, at, new StatsData());
        e.Type = StatTypes.Unsubscribed;
        return e;
    }

    /// <summary>
    /// The outcome type of an event, read from its data (the original does the same); an event with no data is
    /// <c>unsubscribed</c> only when its <c>type</c> says so, else unknown.
    /// </summary>
    public static string TypeOf(StatsEvent stat) => stat.Data?.DataCase switch
    {
        StatsData.DataOneofCase.Accepted => StatTypes.Accepted,
        StatsData.DataOneofCase.Rejected => StatTypes.Rejected,
        StatsData.DataOneofCase.Delivered => StatTypes.Delivered,
        StatsData.DataOneofCase.Bounced => StatTypes.Bounced,
        StatsData.DataOneofCase.Error => StatTypes.Error,
        StatsData.DataOneofCase.Failed => StatTypes.Failed,
        StatsData.DataOneofCase.Opened => StatTypes.Opened,
        StatsData.DataOneofCase.Clicked => StatTypes.Clicked,
        _ when stat.Type == StatTypes.Unsubscribed => StatTypes.Unsubscribed,
        _ => StatTypes.Unknown,
    };

    /// <summary>A deterministic Nats-Msg-Id for an event, so a retried publish of the same outcome is stored once.</summary>
    public static string MessageIdOf(StatsEvent stat, string scope) =>
        $"{TypeOf(stat)}:{stat.MessageId}:{stat.Email}:{scope}";

    private static StatsEvent New(string batchId, string email, string domain, DateTimeOffset at, StatsData data) => new()
    {
        MessageId = batchId,
        Email = email,
        Domain = domain,
        Timestamp = Timestamp.FromDateTimeOffset(at),
        Data = data,
    };
}
