namespace Kannon.Messaging;

/// <summary>NATS subjects, as the original names them (UPSTREAM.md §5.2).</summary>
internal static class Subjects
{
    public const string Sending = "kannon.sending";
    public const string StatsPrefix = "kannon.stats.";
    public const string StatsAll = "kannon.stats.*";
    public const string Bounce = "kannon.bounce";

    public static string Stats(string type) => StatsPrefix + type;
}
