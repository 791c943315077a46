using System.Globalization;
using System.Text;
using Google.Protobuf.WellKnownTypes;

namespace Kannon.Cli;

/// <summary>How the operator commands read times and write tables.</summary>
internal static class CliFormat
{
    /// <summary>A table with a header row and columns as wide as their widest cell; the last column is not padded.</summary>
    public static string Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = new List<IReadOnlyList<string>> { header };
        all.AddRange(rows);
        var widths = new int[header.Count];
        foreach (var row in all)
        {
            for (var i = 0; i < widths.Length; i++)
            {
                widths[i] = Math.Max(widths[i], Cell(row, i).Length);
            }
        }

        var text = new StringBuilder();
        foreach (var row in all)
        {
            var line = new StringBuilder();
            for (var i = 0; i < widths.Length; i++)
            {
                var cell = Cell(row, i);
                line.Append(i == widths.Length - 1 ? cell : cell.PadRight(widths[i] + 2));
            }

            text.Append(line.ToString().TrimEnd()).Append('\n');
        }

        return text.ToString();
    }

    public static string Time(Timestamp? timestamp) =>
        timestamp is null ? "-" : Time(timestamp.ToDateTimeOffset());

    public static string Time(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// A moment given as an ISO 8601 date or time (<c>2027-01-01</c>, <c>2027-01-01T00:00:00Z</c>; UTC unless it says
    /// otherwise) or as a duration from <paramref name="now"/> (<c>30d</c>, <c>12h</c>, <c>90m</c>, <c>2w</c>),
    /// forwards (<paramref name="past"/> false) or backwards.
    /// </summary>
    public static DateTimeOffset Moment(string option, string text, DateTimeOffset now, bool past)
    {
        var value = text.Trim();
        if (TryDuration(value, out var duration))
        {
            return past ? now - duration : now + duration;
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var moment))
        {
            return moment;
        }

        throw new CliException($"{option}: '{text}' is neither a date/time (2027-01-01, 2027-01-01T00:00:00Z) nor a duration (30d, 12h, 90m, 2w)");
    }

    private static bool TryDuration(string text, out TimeSpan duration)
    {
        duration = default;
        if (text.Length < 2 || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count > 100_000)
        {
            return false;
        }

        TimeSpan? unit = char.ToLowerInvariant(text[^1]) switch
        {
            's' => TimeSpan.FromSeconds(1),
            'm' => TimeSpan.FromMinutes(1),
            'h' => TimeSpan.FromHours(1),
            'd' => TimeSpan.FromDays(1),
            'w' => TimeSpan.FromDays(7),
            _ => null,
        };
        if (unit is null)
        {
            return false;
        }

        duration = unit.Value * count;
        return true;
    }

    private static string Cell(IReadOnlyList<string> row, int i) => i < row.Count ? row[i] : "";
}
