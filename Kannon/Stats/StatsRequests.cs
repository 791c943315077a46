using Grpc.Core;
using Kannon.Domains;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

namespace Kannon.Stats;

/// <summary>What both Stats APIs accept: a canonical domain and a time range with from before to. Refusals name the field.</summary>
internal static class StatsRequests
{
    public const int DefaultPage = 100;
    public const int MaxPage = 1000;

    /// <summary>The window a StatsApiV1 call without dates looks at (the original read a missing from_date as the epoch).</summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromDays(7);

    public static string Domain(string domain) =>
        DomainName.Problem(domain) is { } problem ? throw InvalidArgument("domain", problem) : domain;

    /// <summary>to_date defaults to now, from_date to seven days before to_date.</summary>
    public static (DateTimeOffset From, DateTimeOffset To) RangeOrRecent(Timestamp? from, Timestamp? to, DateTimeOffset now)
    {
        var end = to is null ? now : Instant("to_date", to);
        var start = from is null ? end - DefaultWindow : Instant("from_date", from);
        return Ordered(start, end);
    }

    public static (DateTimeOffset From, DateTimeOffset To) Range(Timestamp? from, Timestamp? to)
    {
        if (from is null)
        {
            throw InvalidArgument("from_date", "is required");
        }

        if (to is null)
        {
            throw InvalidArgument("to_date", "is required");
        }

        return Ordered(Instant("from_date", from), Instant("to_date", to));
    }

    /// <summary>take 0 means the default page; above the cap gets the cap, as a page size is a hint.</summary>
    public static int Take(uint take) => take == 0 ? DefaultPage : (int)Math.Min(take, MaxPage);

    private static (DateTimeOffset, DateTimeOffset) Ordered(DateTimeOffset from, DateTimeOffset to) =>
        from < to ? (from, to) : throw InvalidArgument("from_date", $"{from:O} is not before to_date {to:O}");

    private static DateTimeOffset Instant(string field, Timestamp timestamp)
    {
        try
        {
            return timestamp.ToDateTimeOffset();
        }
        catch (InvalidOperationException)
        {
            throw InvalidArgument(field, "is not a valid timestamp");
        }
    }

    private static RpcException InvalidArgument(string field, string problem) =>
        new(new Status(StatusCode.InvalidArgument, $"{field}: {problem}"));
}
