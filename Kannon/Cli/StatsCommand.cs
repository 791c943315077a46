using System.CommandLine;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Protos.Stats.ApiV1;
using Kannon.Protos.Stats.Types;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Cli;

/// <summary><c>kannon stats</c>: a Domain's recent outcomes, newest first, and how many of each type the window holds.</summary>
internal static class StatsCommand
{
    public const int DefaultTake = 50;

    public static Command Build()
    {
        var connection = new CliConnection();
        var domain = ApiKeyCommands.DomainOption();
        var since = new Option<string>("--since")
        {
            Description = "the window's start: a duration back from now (24h, 7d, 90m) or a UTC date/time (2026-12-01)",
            HelpName = "WHEN",
            DefaultValueFactory = _ => "24h",
        };
        var take = new Option<int>("--take")
        {
            Description = $"how many events to list (1-1000)",
            HelpName = "N",
            DefaultValueFactory = _ => DefaultTake,
        };
        var command = new Command("stats", "Recent events of a domain (accepted, delivered, bounced, …), newest first, with totals per type");
        command.Options.Add(domain);
        command.Options.Add(since);
        command.Options.Add(take);
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliSession.RunAsync(parse, connection, cancellationToken, async session =>
        {
            var name = parse.GetValue(domain)!;
            var count = parse.GetValue(take);
            if (count is < 1 or > 1000)
            {
                throw new CliException($"--take: {count} is out of range (1-1000)");
            }

            var start = CliFormat.Moment("--since", parse.GetValue(since)!, DateTimeOffset.UtcNow, past: true);
            // The Stats API answers an unknown domain with nothing; asking the Admin API first names the typo.
            await session.Admin().GetDomainAsync(new GetDomainReq { Domain = name }, cancellationToken: session.CancellationToken).ConfigureAwait(false);
            var stats = session.Stats();
            var from = Timestamp.FromDateTimeOffset(start);
            var page = await stats.GetStatsAsync(new GetStatsReq { Domain = name, FromDate = from, Take = (uint)count }, cancellationToken: session.CancellationToken).ConfigureAwait(false);
            var totals = await stats.GetStatsAggregatedAsync(new GetStatsAggregatedReq { Domain = name, FromDate = from }, cancellationToken: session.CancellationToken).ConfigureAwait(false);

            await session.WriteLineAsync($"Events of {name} since {CliFormat.Time(start)}, newest first ({page.Stats.Count} of {page.Total}):").ConfigureAwait(false);
            await session.WriteLineAsync().ConfigureAwait(false);
            if (page.Stats.Count == 0)
            {
                await session.WriteLineAsync("No events in this window.").ConfigureAwait(false);
                return 0;
            }

            var rows = page.Stats.Select(s => (IReadOnlyList<string>)[CliFormat.Time(s.Timestamp), s.Type, s.Email, Details(s)]);
            await session.Output.WriteAsync(CliFormat.Table(["TIME", "TYPE", "RECIPIENT", "DETAILS"], rows)).ConfigureAwait(false);
            await session.WriteLineAsync().ConfigureAwait(false);
            await session.WriteLineAsync("Totals:").ConfigureAwait(false);
            var byType = totals.Stats
                .GroupBy(s => s.Type, StringComparer.Ordinal)
                .Select(g => (IReadOnlyList<string>)[g.Key, g.Sum(s => s.Count).ToString(CultureInfo.InvariantCulture)])
                .OrderBy(r => Order(r[0]))
                .ThenBy(r => r[0], StringComparer.Ordinal);
            await session.Output.WriteAsync(CliFormat.Table(["TYPE", "COUNT"], byType)).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    /// <summary>What an event says beyond its type: the reason, the SMTP answer, the clicked link.</summary>
    internal static string Details(StatsEvent stat)
    {
        var data = stat.Data;
        var text = data?.DataCase switch
        {
            StatsData.DataOneofCase.Rejected => data.Rejected.Reason,
            StatsData.DataOneofCase.Failed => data.Failed.Reason,
            StatsData.DataOneofCase.Bounced => $"{(data.Bounced.Permanent ? "permanent" : "temporary")} {data.Bounced.Code} {data.Bounced.Msg}",
            StatsData.DataOneofCase.Error => $"{data.Error.Code} {data.Error.Msg}",
            StatsData.DataOneofCase.Opened => Join(data.Opened.Ip, data.Opened.UserAgent),
            StatsData.DataOneofCase.Clicked => Join(data.Clicked.Url, data.Clicked.Ip, data.Clicked.UserAgent),
            _ => "",
        };
        return CliSession.OneLine(text ?? "");
    }

    private static string Join(params string[] parts) => string.Join(' ', parts.Where(p => p.Length > 0));

    private static int Order(string type) => type switch
    {
        "accepted" => 0,
        "rejected" => 1,
        "delivered" => 2,
        "error" => 3,
        "bounced" => 4,
        "failed" => 5,
        "opened" => 6,
        "clicked" => 7,
        "unsubscribed" => 8,
        _ => 9,
    };
}
