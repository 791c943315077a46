using System.CommandLine;
using Kannon.Hosting.Configuration;

namespace Kannon.Hosting;

/// <summary>The <c>kannon</c> command: role flags run modules; subcommands do one job and exit.</summary>
internal static class KannonCommandLine
{
    public static Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        var parse = Build().Parse(args);
        return parse.InvokeAsync(new InvocationConfiguration
        {
            Output = output ?? Console.Out,
            Error = error ?? Console.Error,
            // The host handles SIGTERM/SIGINT itself and drains in-flight work; don't race it.
            ProcessTerminationTimeout = null,
        });
    }

    internal static RootCommand Build()
    {
        var roles = new RoleOptions();
        var config = ConfigOption();
        var root = new RootCommand("Kannon: a cloud-native mail sender. Choose the roles this process runs, or --run-all.");
        foreach (var option in roles.Flags)
        {
            root.Options.Add(option);
        }

        root.Options.Add(config);
        root.SetAction((parse, cancellationToken) => ServerCommand.RunAsync(
            roles.Read(parse), parse.GetValue(config), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancellationToken));

        root.Subcommands.Add(MigrateCommand.Build(ConfigOption()));
        root.Subcommands.Add(Cli.DomainCommands.Build());
        root.Subcommands.Add(Cli.ApiKeyCommands.Build());
        root.Subcommands.Add(Cli.TemplateCommands.Build());
        root.Subcommands.Add(Cli.SendCommand.Build());
        root.Subcommands.Add(Cli.StatsCommand.Build());
        root.Subcommands.Add(Cli.SuppressionCommands.Build());
        return root;
    }

    internal static Option<string?> ConfigOption() => new("--config")
    {
        Description = "Configuration file (JSON or YAML; an original Kannon YAML file works)",
        HelpName = "FILE",
    };

    internal static async Task<int> FailAsync(TextWriter error, string message)
    {
        await error.WriteLineAsync($"kannon: {message}").ConfigureAwait(false);
        return 2;
    }
}
