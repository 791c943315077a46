using System.Globalization;
using System.Net.Sockets;

namespace Kannon.Hosting.Embedded;

/// <summary>A <c>nats-server -js</c> of our own with its store under a folder, on loopback.</summary>
internal sealed class NatsServer : IAsyncDisposable
{
    private readonly string _directory;
    private ChildProcess? _process;

    public NatsServer(string directory, int port)
    {
        _directory = Path.GetFullPath(directory);
        Port = port;
    }

    public int Port { get; }

    public string Url => $"nats://127.0.0.1:{Port}";

    /// <summary>The last lines the running server printed (since its last start), for a failure report.</summary>
    public string Tail => _process?.Tail ?? "";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var store = Path.Combine(_directory, "jetstream");
        Directory.CreateDirectory(store);
        var pidFile = Path.Combine(_directory, "nats-server.pid");
        if (File.Exists(pidFile) && int.TryParse((await File.ReadAllTextAsync(pidFile, cancellationToken).ConfigureAwait(false)).Trim(), out var stale))
        {
            await ChildProcess.StopStaleAsync(stale, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        _process = ChildProcess.Start(Binaries.NatsServer(),
        [
            "-js", "-sd", store, "-a", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture),
            "-P", pidFile, "-n", $"kannon-{Port}",
        ]);
        await WaitUntilReadyAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync()
    {
        if (_process is not null)
        {
            await _process.StopAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process!.HasExited)
            {
                throw new InvalidOperationException($"nats-server exited at start:{Environment.NewLine}{_process.Tail}");
            }

            // JetStream is up once the server logs it; the port alone opens a little earlier.
            if (_process.HasPrinted("Server is ready"))
            {
                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync("127.0.0.1", Port, cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (SocketException)
                {
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"nats-server did not become ready within 30 s:{Environment.NewLine}{_process.Tail}");
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }
}
