using System.CommandLine;
using Kannon.Protos.Suppression.ApiV1;

namespace Kannon.Cli;

/// <summary><c>kannon suppression list|add|remove</c>: the addresses a Domain no longer sends to.</summary>
internal static class SuppressionCommands
{
    public const int DefaultTake = 100;

    public static Command Build()
    {
        var command = new Command("suppression", "Suppression list: addresses a domain no longer sends to (hard bounces, complaints, unsubscribes, added by hand)");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Add());
        command.Subcommands.Add(Remove());
        return command;
    }

    private static Option<string> EmailOption() => new("--email") { Description = "the suppressed address", HelpName = "ADDRESS", Required = true };

    private static Option<string?> NoteOption(string description) => new("--note") { Description = description, HelpName = "TEXT" };

    private static Command List()
    {
        var connection = new CliConnection();
        var domain = ApiKeyCommands.DomainOption();
        var reason = new Option<string?>("--reason") { Description = "only this reason: hard_bounce, complaint, unsubscribe or manual", HelpName = "REASON" };
        var prefix = new Option<string?>("--prefix") { Description = "only addresses starting with this (case-insensitive)", HelpName = "TEXT" };
        var skip = new Option<int>("--skip") { Description = "how many of the newest to skip", HelpName = "N" };
        var take = new Option<int>("--take") { Description = "how many to list (1-1000)", HelpName = "N", DefaultValueFactory = _ => DefaultTake };
        var command = new Command("list", "List a domain's suppressed addresses, newest first");
        command.Options.Add(domain);
        command.Options.Add(reason);
        command.Options.Add(prefix);
        command.Options.Add(skip);
        command.Options.Add(take);
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliSession.RunAsync(parse, connection, cancellationToken, async session =>
        {
            var count = parse.GetValue(take);
            if (count is < 1 or > 1000)
            {
                throw new CliException($"--take: {count} is out of range (1-1000)");
            }

            if (parse.GetValue(skip) < 0)
            {
                throw new CliException($"--skip: {parse.GetValue(skip)} is negative");
            }

            var page = await session.Suppressions().ListAsync(new ListSuppressionsReq
            {
                Domain = parse.GetValue(domain)!,
                Reason = parse.GetValue(reason) ?? "",
                AddressPrefix = parse.GetValue(prefix) ?? "",
                Skip = (uint)parse.GetValue(skip),
                Take = (uint)count,
            }, cancellationToken: session.CancellationToken).ConfigureAwait(false);
            if (page.Suppressions.Count == 0)
            {
                await session.WriteLineAsync(page.Total == 0 ? "No suppressed addresses." : $"No suppressed addresses past {parse.GetValue(skip)} (of {page.Total}).").ConfigureAwait(false);
                return 0;
            }

            var rows = page.Suppressions.Select(s => (IReadOnlyList<string>)[s.Email, s.Reason, CliFormat.Time(s.CreatedAt), Evidence(s)]);
            await session.Output.WriteAsync(CliFormat.Table(["EMAIL", "REASON", "CREATED", "EVIDENCE"], rows)).ConfigureAwait(false);
            await session.WriteLineAsync($"({page.Suppressions.Count} of {page.Total})").ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static Command Add()
    {
        var connection = new CliConnection();
        var domain = ApiKeyCommands.DomainOption();
        var email = EmailOption();
        var note = NoteOption("why it is suppressed (kept with it)");
        var command = new Command("add", "Suppress an address for a domain by hand (reason manual); an address already suppressed keeps its reason");
        command.Options.Add(domain);
        command.Options.Add(email);
        command.Options.Add(note);
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliSession.RunAsync(parse, connection, cancellationToken, async session =>
        {
            var added = await session.Suppressions().AddAsync(
                new AddSuppressionReq { Domain = parse.GetValue(domain)!, Email = parse.GetValue(email)!, Note = parse.GetValue(note) ?? "" },
                cancellationToken: session.CancellationToken).ConfigureAwait(false);
            await session.WriteLineAsync($"{added.Email} is suppressed for {added.Domain} (reason {added.Reason}, since {CliFormat.Time(added.CreatedAt)}).").ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static Command Remove()
    {
        var connection = new CliConnection();
        var domain = ApiKeyCommands.DomainOption();
        var email = EmailOption();
        var note = NoteOption("why it is removed (kept in the removal record)");
        var command = new Command("remove", "Remove an address from a domain's suppression list (the removal is recorded)");
        command.Options.Add(domain);
        command.Options.Add(email);
        command.Options.Add(note);
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliSession.RunAsync(parse, connection, cancellationToken, async session =>
        {
            var request = new RemoveSuppressionReq { Domain = parse.GetValue(domain)!, Email = parse.GetValue(email)!, Note = parse.GetValue(note) ?? "" };
            var removed = await session.Suppressions().RemoveAsync(request, cancellationToken: session.CancellationToken).ConfigureAwait(false);
            await session.WriteLineAsync(removed.Removed
                ? $"Removed {request.Email} from the suppression list of {request.Domain}."
                : $"{request.Email} was not suppressed for {request.Domain}: nothing removed.").ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static string Evidence(Protos.Suppression.ApiV1.Suppression s)
    {
        var parts = new[] { s.StatusCode, s.Source, s.Note.Length > 0 ? $"\"{CliSession.OneLine(s.Note)}\"" : "" }.Where(p => p.Length > 0);
        return string.Join(' ', parts);
    }
}
