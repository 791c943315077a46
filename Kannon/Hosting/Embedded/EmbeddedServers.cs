using Microsoft.Extensions.Options;

namespace Kannon.Hosting.Embedded;

/// <summary>
/// The embedded default's servers: PostgreSQL when database_url is unset, nats-server when nats_url is.
/// Ports are chosen when the host is built, so connection strings are known before anything starts.
/// </summary>
internal sealed class EmbeddedServers : IAsyncDisposable
{
    public EmbeddedServers(IOptions<KannonOptions> options)
    {
        var root = Path.GetFullPath(options.Value.DataDir);
        if (options.Value.EmbeddedDatabase)
        {
            Postgres = new PostgresServer(Path.Combine(root, "pg"), FreePort.Next());
        }

        if (options.Value.EmbeddedNats)
        {
            Nats = new NatsServer(Path.Combine(root, "nats"), FreePort.Next());
        }
    }

    public PostgresServer? Postgres { get; }

    public NatsServer? Nats { get; }

    public async ValueTask DisposeAsync()
    {
        if (Nats is not null)
        {
            await Nats.DisposeAsync().ConfigureAwait(false);
        }

        if (Postgres is not null)
        {
            await Postgres.DisposeAsync().ConfigureAwait(false);
        }
    }
}
