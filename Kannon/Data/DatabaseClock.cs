namespace Kannon.Data;

/// <summary>PostgreSQL keeps whole microseconds: values cut to that on the way in read back equal to what was returned on creation.</summary>
internal static class DatabaseClock
{
    private const long TicksPerMicrosecond = TimeSpan.TicksPerMillisecond / 1000;

    public static DateTimeOffset GetUtcNowForDatabase(this TimeProvider time) => time.GetUtcNow().ToDatabasePrecision();

    /// <summary>The same instant in UTC, cut to whole microseconds.</summary>
    public static DateTimeOffset ToDatabasePrecision(this DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        return utc.AddTicks(-(utc.Ticks % TicksPerMicrosecond));
    }
}
