namespace Kannon.Tracking;

/// <summary>
/// The channel a tracking token is bound to (its <c>aud</c> claim), so that an open token replayed as a
/// click token, or a click token as an unsubscribe, is refused.
/// </summary>
internal static class TrackingAudience
{
    public const string Open = "stats:open";
    public const string Link = "stats:link";
    public const string Unsubscribe = "stats:unsubscribe";
}
