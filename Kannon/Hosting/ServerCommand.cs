using Kannon.Hosting.Configuration;
using Kannon.Hosting.Embedded;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Kannon.Hosting;

/// <summary>Runs the selected roles until SIGTERM.</summary>
internal static class ServerCommand
{
    public static async Task<int> RunAsync(Roles roles, string? configFile, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (!roles.Any)
        {
            return await KannonCommandLine.FailAsync(error,
                "no role selected: give one or more of --run-api --run-smtp --run-sender --run-dispatcher --run-validator --run-stats --run-tracker, or --run-all (see kannon --help)").ConfigureAwait(false);
        }

        WebApplication app;
        try
        {
            var configuration = KannonConfiguration.Build(configFile);
            var secrets = EmbeddedSecrets.For(configuration, roles, output);
            if (secrets.Count > 0)
            {
                configuration = KannonConfiguration.Build(configFile, secrets);
            }

            app = KannonHost.Build(configuration, roles);
        }
        catch (ConfigurationException e)
        {
            return await KannonCommandLine.FailAsync(error, e.Message).ConfigureAwait(false);
        }

        await using (app.ConfigureAwait(false))
        {
            if (await ValidateAsync(app, error).ConfigureAwait(false) is { } failed)
            {
                return failed;
            }

            try
            {
                await app.RunAsync().ConfigureAwait(false);
                return 0;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return await KannonCommandLine.FailAsync(error, $"stopped: {e.Message}").ConfigureAwait(false);
            }
        }
    }

    /// <summary>Every option of every registered module, checked before anything starts; one line per problem.</summary>
    internal static async Task<int?> ValidateAsync(WebApplication app, TextWriter error)
    {
        try
        {
            app.Services.GetRequiredService<IStartupValidator>().Validate();
            return null;
        }
        catch (OptionsValidationException e)
        {
            foreach (var failure in e.Failures)
            {
                await error.WriteLineAsync($"kannon: invalid configuration: {failure}").ConfigureAwait(false);
            }

            return 2;
        }
        catch (InvalidOperationException e) when (e.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
        {
            var reason = e.InnerException?.Message is { } inner ? $" ({inner})" : "";
            return await KannonCommandLine.FailAsync(error, $"invalid configuration: {e.Message}{reason}").ConfigureAwait(false);
        }
        catch (AggregateException e) when (e.InnerExceptions.All(x => x is OptionsValidationException))
        {
            foreach (var failure in e.InnerExceptions.Cast<OptionsValidationException>().SelectMany(x => x.Failures))
            {
                await error.WriteLineAsync($"kannon: invalid configuration: {failure}").ConfigureAwait(false);
            }

            return 2;
        }
    }
}
