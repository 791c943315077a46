using Kannon.Data;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kannon.Hosting.Embedded;

/// <summary>Registered before every module: starts the embedded servers (and migrates) first, stops them last.</summary>
internal sealed partial class EmbeddedServersService(
    EmbeddedServers servers,
    IServiceProvider services,
    ILogger<EmbeddedServersService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (servers.Postgres is { } postgres)
        {
            await postgres.StartAsync(cancellationToken).ConfigureAwait(false);
            LogStarted(logger, "PostgreSQL", postgres.DataDirectory, postgres.Port);
            var applied = await services.GetRequiredService<MigrationRunner>().ApplyAsync(cancellationToken).ConfigureAwait(false);
            LogMigrated(logger, applied);
        }

        if (servers.Nats is { } nats)
        {
            await nats.StartAsync(cancellationToken).ConfigureAwait(false);
            LogStarted(logger, "nats-server", nats.Url, nats.Port);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (servers.Nats is { } nats)
        {
            await nats.StopAsync().ConfigureAwait(false);
            LogStopped(logger, "nats-server");
        }

        if (servers.Postgres is { } postgres)
        {
            await postgres.StopAsync().ConfigureAwait(false);
            LogStopped(logger, "PostgreSQL");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Embedded {Server} started ({Where}, port {Port}); set database_url / nats_url to use your own")]
    private static partial void LogStarted(ILogger logger, string server, string where, int port);

    [LoggerMessage(Level = LogLevel.Information, Message = "Embedded database migrated ({Applied} new migrations)")]
    private static partial void LogMigrated(ILogger logger, int applied);

    [LoggerMessage(Level = LogLevel.Information, Message = "Embedded {Server} stopped")]
    private static partial void LogStopped(ILogger logger, string server);
}
