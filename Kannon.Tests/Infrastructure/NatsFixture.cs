using Kannon.Hosting.Embedded;

namespace Kannon.Tests.Infrastructure;

/// <summary>
/// A nats-server with JetStream of the test class's own (it starts in well under a second), so stream
/// names need no prefixes and no test sees another's messages; or KANNON_TEST_NATS_URL when set.
/// </summary>
public sealed class NatsFixture : IAsyncLifetime
{
    private NatsServer? _server;
    private string? _directory;

    public string Url { get; private set; } = "";

    internal NatsServer Server => _server ?? throw new InvalidOperationException("this fixture uses an external NATS");

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable("KANNON_TEST_NATS_URL");
        if (!string.IsNullOrWhiteSpace(external))
        {
            Url = external;
            return;
        }

        _directory = Path.Combine(Path.GetTempPath(), $"kannon-test-nats-{Guid.NewGuid():N}");
        _server = new NatsServer(_directory, FreePort.Next());
        await _server.StartAsync(CancellationToken.None).ConfigureAwait(false);
        Url = _server.Url;
    }

    /// <summary>Stops and starts the same server on the same store (for fault tests).</summary>
    public async Task RestartAsync()
    {
        await Server.StopAsync().ConfigureAwait(false);
        await Server.StartAsync(CancellationToken.None).ConfigureAwait(false);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }

        if (_directory is not null && Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
