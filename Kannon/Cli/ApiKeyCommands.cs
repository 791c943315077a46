using System.CommandLine;
using Google.Protobuf.WellKnownTypes;
using Kannon.Protos.Admin.ApiV1;

namespace Kannon.Cli;

/// <summary><c>kannon apikey create|list|deactivate</c>: a Domain's credentials for the Mailer API.</summary>
internal static class ApiKeyCommands
{
    public static Command Build()
    {
        var command = new Command("apikey", "API keys: the credentials a domain's senders use with the Mailer API");
        command.Subcommands.Add(Create());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Deactivate());
        return command;
    }

    internal static Option<string> DomainOption(string description = "the sending domain") => new("--domain")
    {
        Description = description,
        HelpName = "DOMAIN",
        Required = true,
    };

    private static Command Create()
    {
        var connection = new CliConnection();
        var domain = DomainOption();
        var name = new Option<string>("--name") { Description = "what the key is for (shown in lists)", HelpName = "NAME", Required = true };
        var expires = new Option<string?>("--expires")
        {
            Description = "when the key stops working: a UTC date/time (2027-01-01T00:00:00Z) or a duration from now (30d, 12h); default never",
            HelpName = "WHEN",
        };
        var command = new Command("create", "Create an API key for a domain; the key is printed once, only now");
        command.Options.Add(domain);
        command.Options.Add(name);
        command.Options.Add(expires);
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliSession.RunAsync(parse, connection, cancellationToken, async session =>
        {
            var request = new CreateAPIKeyRequest { Domain = parse.GetValue(domain)!, Name = parse.GetValue(name)! };
            if (parse.GetValue(expires) is { } when)
            {
                request.ExpiresAt = Timestamp.FromDateTimeOffset(CliFormat.Moment("--expires", when, DateTimeOffset.UtcNow, past: false));
            }

            var created = await session.Admin().CreateAPIKeyAsync(request, cancellationToken: session.CancellationToken).ConfigureAwait(false);
            var key = created.ApiKey;
            await session.WriteLineAsync($"Created API key {key.Id} '{key.Name}' for {key.Domain} ({Expiry(key)}).").ConfigureAwait(false);
            await session.WriteLineAsync().ConfigureAwait(false);
            await session.WriteLineAsync($"    {created.Key}").ConfigureAwait(false);
            await session.WriteLineAsync().ConfigureAwait(false);
            await session.WriteLineAsync("This key is shown only now: Kannon keeps only its hash and cannot show it again. Store it in your secret store;").ConfigureAwait(false);
            await session.WriteLineAsync($"if it is lost, create another and deactivate this one (kannon apikey deactivate --domain {key.Domain} --id {key.Id}).").ConfigureAwait(false);
            await session.WriteLineAsync($"Send with it: KANNON_API_KEY=<key> kannon send --from news@{key.Domain} --to … --subject … --html …").ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static Command List()
    {
        var connection = new CliConnection();
        var domain = DomainOption();
        var all = new Option<bool>("--all") { Description = "include deactivated keys" };
        var command = new Command("list", "List a domain's API keys (masked: a key is shown in full only when created)");
        command.Options.Add(domain);
        command.Options.Add(all);
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliSession.RunAsync(parse, connection, cancellationToken, async session =>
        {
            var admin = session.Admin();
            var keys = new List<APIKey>();
            const int page = 1000;
            while (true)
            {
                var response = await admin.ListAPIKeysAsync(
                    new ListAPIKeysRequest { Domain = parse.GetValue(domain)!, OnlyActive = !parse.GetValue(all), Limit = page, Offset = keys.Count },
                    cancellationToken: session.CancellationToken).ConfigureAwait(false);
                keys.AddRange(response.ApiKeys);
                if (response.ApiKeys.Count < page || keys.Count >= response.Total)
                {
                    break;
                }
            }

            if (keys.Count == 0)
            {
                await session.WriteLineAsync(parse.GetValue(all) ? "No API keys." : "No active API keys (--all shows deactivated ones).").ConfigureAwait(false);
                return 0;
            }

            var rows = keys.Select(k => (IReadOnlyList<string>)[
                k.Id, k.Name, k.Key, CliFormat.Time(k.CreatedAt), k.ExpiresAt is null ? "never" : CliFormat.Time(k.ExpiresAt), Active(k)]);
            await session.Output.WriteAsync(CliFormat.Table(["ID", "NAME", "KEY", "CREATED", "EXPIRES", "ACTIVE"], rows)).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static Command Deactivate()
    {
        var connection = new CliConnection();
        var domain = DomainOption();
        var id = new Option<string>("--id") { Description = "the key's id (key_…), from `kannon apikey list`", HelpName = "ID", Required = true };
        var command = new Command("deactivate", "Deactivate an API key: the Mailer API refuses it from now on");
        command.Options.Add(domain);
        command.Options.Add(id);
        connection.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliSession.RunAsync(parse, connection, cancellationToken, async session =>
        {
            var key = (await session.Admin().DeactivateAPIKeyAsync(
                new DeactivateAPIKeyRequest { Domain = parse.GetValue(domain)!, Id = parse.GetValue(id)! },
                cancellationToken: session.CancellationToken).ConfigureAwait(false)).ApiKey;
            await session.WriteLineAsync($"Deactivated API key {key.Id} '{key.Name}' of {key.Domain} (at {CliFormat.Time(key.DeactivatedAt)}).").ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    private static string Expiry(APIKey key) => key.ExpiresAt is null ? "never expires" : $"expires {CliFormat.Time(key.ExpiresAt)}";

    private static string Active(APIKey key)
    {
        if (!key.IsActive)
        {
            return "no (deactivated)";
        }

        return key.ExpiresAt is not null && key.ExpiresAt.ToDateTimeOffset() <= DateTimeOffset.UtcNow ? "no (expired)" : "yes";
    }
}
