namespace Kannon.Stats;

/// <summary>Outcome names: the <c>stats.type</c> column and the last token of <c>kannon.stats.&lt;type&gt;</c>.</summary>
internal static class StatTypes
{
    public const string Accepted = "accepted";
    public const string Rejected = "rejected";
    public const string Delivered = "delivered";
    public const string Bounced = "bounced";
    public const string Error = "error";
    public const string Failed = "failed";
    public const string Opened = "opened";
    public const string Clicked = "clicked";
    public const string Unsubscribed = "unsubscribed";
    public const string Unknown = "unknown";
}
