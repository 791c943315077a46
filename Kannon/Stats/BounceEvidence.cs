using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Bounce = Kannon.Protos.Bounce.Types.Bounce;

namespace Kannon.Stats;

/// <summary>The Stats worker's SQL for report evidence: an update of the existing <c>bounced</c> row, never a count.</summary>
internal sealed class BounceEvidence(NpgsqlDataSource dataSource)
{
    // The stat and the event of one report carry the same arrival time; a report resent after a 451 may
    // pair an event with the stat of the first attempt, so the nearest bounced stat of that Delivery is taken.
    private static readonly TimeSpan Window = TimeSpan.FromHours(1);

    /// <summary>True when the report now stands beside its stat; false when that stat is not stored yet.</summary>
    public async Task<bool> AttachAsync(Bounce report, CancellationToken cancellationToken)
    {
        var arrivedAt = report.ArrivedAt?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch;
        var json = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["action"] = report.Action,
            ["status"] = report.Status,
            ["diagnostic"] = report.Diagnostic,
            ["reportingMta"] = report.ReportingMta,
            ["arrivedAt"] = arrivedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            ["reportSha256"] = Convert.ToHexStringLower(report.ReportSha256.Span),
        });
        await using var command = dataSource.CreateCommand("""
            UPDATE stats SET data = data || jsonb_build_object('report', $4::jsonb)
            WHERE id = (SELECT id FROM stats
                        WHERE type = 'bounced' AND message_id = $1 AND email = $2 AND timestamp BETWEEN $3 - $5 AND $3 + $5
                        ORDER BY abs(extract(epoch FROM timestamp - $3)), id LIMIT 1)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = report.MessageId });
        command.Parameters.Add(new NpgsqlParameter { Value = report.Email });
        command.Parameters.Add(new NpgsqlParameter { Value = arrivedAt.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = json, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = Window, NpgsqlDbType = NpgsqlDbType.Interval });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }
}
