using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Kannon.Data;
using Kannon.Domains;
using Kannon.Protos.Stats.Types;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Stats;

/// <summary>
/// The edges of the Stats module: a <c>Stats</c> event from NATS becomes a row, a row becomes a <c>Stats</c>
/// of a GetStats answer. Row data is protojson of <c>StatsData</c> (the original's shape, zero fields omitted).
/// </summary>
internal static class StatsMapping
{
    public const int MaxEmailLength = 320;

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default);

    // Rows written by other versions may carry fields this one does not know: show what is known.
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    /// <summary>
    /// The row for an event, or why it can never be stored (the consumer terminates it). An event without a
    /// timestamp takes <paramref name="storedAt"/>, the time JetStream stored it: the same on every redelivery,
    /// so the row's idempotency key still holds.
    /// </summary>
    public static StatEvent? ToRow(StatsEvent stat, DateTimeOffset storedAt, out string? problem)
    {
        problem = Problem(stat);
        if (problem is not null)
        {
            return null;
        }

        DateTimeOffset timestamp;
        try
        {
            timestamp = stat.Timestamp is null ? storedAt : stat.Timestamp.ToDateTimeOffset();
        }
        catch (InvalidOperationException)
        {
            problem = "invalid timestamp";
            return null;
        }

        var data = Formatter.Format(stat.Data);
        if (data.Contains("\\u0000", StringComparison.Ordinal))
        {
            // jsonb refuses \u0000: one such event would fail every batch it is in.
            problem = "data contains a NUL character";
            return null;
        }

        return new StatEvent
        {
            Type = Outcomes.TypeOf(stat),
            Email = stat.Email,
            MessageId = stat.MessageId,
            Domain = stat.Domain,
            Timestamp = timestamp.ToDatabasePrecision(),
            Data = data,
        };
    }

    /// <summary>A stored row as GetStats returns it: type always filled, data parsed back (left empty if unreadable).</summary>
    public static StatsEvent ToProto(StatEvent row)
    {
        var stat = new StatsEvent
        {
            MessageId = row.MessageId,
            Domain = row.Domain,
            Email = row.Email,
            Timestamp = Timestamp.FromDateTimeOffset(row.Timestamp),
            Type = row.Type,
        };
        try
        {
            stat.Data = Parser.Parse<StatsData>(row.Data);
        }
        catch (InvalidProtocolBufferException)
        {
        }
        catch (InvalidJsonException)
        {
        }

        return stat;
    }

    public static StatsAggregated ToProto(AggregatedStat bucket) => new()
    {
        Type = bucket.Type,
        Timestamp = Timestamp.FromDateTimeOffset(bucket.Timestamp),
        Count = bucket.Count,
    };

    private static string? Problem(StatsEvent stat)
    {
        if (Outcomes.TypeOf(stat) == StatTypes.Unknown)
        {
            return "unknown outcome type (the data oneof is not set)";
        }

        if (stat.Domain.Length == 0)
        {
            return "no domain";
        }

        if (DomainName.Problem(stat.Domain) is { } domainProblem)
        {
            return $"domain {domainProblem}";
        }

        if (stat.MessageId.Length == 0)
        {
            return "no message id";
        }

        if (stat.Email.Length > MaxEmailLength)
        {
            return $"email is {stat.Email.Length} characters long (at most {MaxEmailLength})";
        }

        // PostgreSQL text cannot hold NUL.
        return stat.MessageId.Contains('\0', StringComparison.Ordinal) || stat.Email.Contains('\0', StringComparison.Ordinal)
            ? "message id or email contains a NUL character"
            : null;
    }
}
