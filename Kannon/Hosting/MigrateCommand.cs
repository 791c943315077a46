using System.CommandLine;
using Kannon.Data;
using Kannon.Hosting.Configuration;
using Kannon.Hosting.Embedded;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Kannon.Hosting;

/// <summary><c>kannon migrate</c>: applies the embedded SQL migrations in order; safe to run twice or twice at once.</summary>
internal static class MigrateCommand
{
    public static Command Build(Option<string?> config)
    {
        var command = new Command("migrate", "Apply the database migrations (embedded in the binary) and exit");
        command.Options.Add(config);
        // The original's `kannon migrate main` still works.
        var target = new Argument<string?>("target") { Arity = ArgumentArity.ZeroOrOne, Description = "ignored; accepted for the original's 'migrate main'" };
        command.Arguments.Add(target);
        command.SetAction((parse, cancellationToken) =>
            RunAsync(parse.GetValue(config), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string? configFile, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        KannonOptions options;
        try
        {
            DurationConverter.Register();
            options = KannonConfiguration.Build(configFile).Get<KannonOptions>() ?? new KannonOptions();
            if (options.Validate().FirstOrDefault() is { } problem)
            {
                return await KannonCommandLine.FailAsync(error, $"invalid configuration: {problem}").ConfigureAwait(false);
            }
        }
        catch (ConfigurationException e)
        {
            return await KannonCommandLine.FailAsync(error, e.Message).ConfigureAwait(false);
        }

        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
        PostgresServer? embedded = null;
        try
        {
            string connectionString;
            if (options.EmbeddedDatabase)
            {
                embedded = new PostgresServer(Path.Combine(Path.GetFullPath(options.DataDir), "pg"), FreePort.Next());
                await embedded.StartAsync(cancellationToken).ConfigureAwait(false);
                connectionString = embedded.ConnectionString();
            }
            else
            {
                connectionString = PostgresUrl.ToConnectionString(options.DatabaseUrl!);
            }

            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            var applied = await new MigrationRunner(dataSource, loggers.CreateLogger<MigrationRunner>()).ApplyAsync(cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync(applied == 0 ? "kannon: database is up to date" : $"kannon: applied {applied} migration(s)").ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            return await KannonCommandLine.FailAsync(error, $"migrate failed: {e.Message}").ConfigureAwait(false);
        }
        finally
        {
            if (embedded is not null)
            {
                await embedded.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
