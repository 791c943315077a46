using Npgsql;

namespace Kannon.Hosting.Embedded;

/// <summary>
/// A PostgreSQL server of our own under a folder, on loopback: the embedded default and the tests' fixture.
/// As root it runs as the <c>postgres</c> user, since PostgreSQL refuses to run as root.
/// </summary>
internal sealed class PostgresServer : IAsyncDisposable
{
    public const string User = "kannon";
    private const string ServiceUser = "postgres";

    private readonly string _directory;
    private readonly bool _durable;
    private ChildProcess? _process;

    /// <param name="durable">false skips fsync (tests): faster, and a machine crash may lose data.</param>
    public PostgresServer(string directory, int port, bool durable = true)
    {
        _directory = Path.GetFullPath(directory);
        Port = port;
        _durable = durable;
    }

    public int Port { get; }

    public string DataDirectory => Path.Combine(_directory, "data");

    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = User,
        Database = database,
        Timeout = 15,
    }.ConnectionString;

    /// <summary>Initialises the cluster if needed, starts it, and returns once it accepts connections.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var bin = Binaries.PostgresBin();
        var runAs = Binaries.IsRoot ? ServiceUser : null;
        var sockets = Path.Combine(_directory, "run");
        Directory.CreateDirectory(DataDirectory);
        Directory.CreateDirectory(sockets);
        if (runAs is not null)
        {
            // The folder holding ours (data_dir) must let the postgres user through.
            var parent = Directory.GetParent(_directory)!.FullName;
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(parent, File.GetUnixFileMode(parent) | UnixFileMode.OtherExecute | UnixFileMode.GroupExecute);
            }

            await RunOrThrowAsync("chown", ["-R", $"{ServiceUser}:{ServiceUser}", _directory], null, cancellationToken).ConfigureAwait(false);
            var (code, _) = await ChildProcess.RunAsync("test", ["-w", DataDirectory], runAs, cancellationToken).ConfigureAwait(false);
            if (code != 0)
            {
                throw new InvalidOperationException(
                    $"the postgres user cannot reach {DataDirectory}: every folder above it must be searchable by others (chmod o+x), or set data_dir elsewhere");
            }
        }

        if (!File.Exists(Path.Combine(DataDirectory, "PG_VERSION")))
        {
            string[] initdb = ["-D", DataDirectory, "-U", User, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-instructions"];
            if (!_durable)
            {
                initdb = [.. initdb, "--no-sync"];
            }

            await RunOrThrowAsync(Path.Combine(bin, "initdb"), initdb, runAs, cancellationToken).ConfigureAwait(false);
        }

        await StopStaleAsync().ConfigureAwait(false);

        List<string> arguments =
        [
            "-D", DataDirectory, "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-k", sockets, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300",
            "-c", "shared_buffers=128MB", "-c", "timezone=UTC",
            // Intake of 100,000 recipients writes ~50 MB of WAL in one COPY, and the Pool's state changes as much
            // again: WAL buffers beyond the default 4 MB, and checkpoints spaced so that a million-recipient hour
            // does not log every touched page in full several times over. Durability is unchanged (fsync and
            // synchronous_commit stay on); a crash replays at most max_wal_size of WAL.
            "-c", "wal_buffers=16MB", "-c", "max_wal_size=4GB", "-c", "checkpoint_timeout=15min",
        ];
        if (!_durable)
        {
            arguments.AddRange(["-F", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]);
        }

        _process = ChildProcess.Start(Path.Combine(bin, "postgres"), arguments, runAs);
        await WaitUntilReadyAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync()
    {
        if (_process is not null)
        {
            await _process.StopAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
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
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process!.HasExited)
            {
                throw new InvalidOperationException($"PostgreSQL exited at start:{Environment.NewLine}{_process.Tail}");
            }

            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString() + ";Pooling=false;Timeout=2");
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"PostgreSQL did not accept connections within 60 s:{Environment.NewLine}{_process.Tail}", e);
                }

                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task StopStaleAsync()
    {
        var pidFile = Path.Combine(DataDirectory, "postmaster.pid");
        if (File.Exists(pidFile)
            && int.TryParse((await File.ReadAllLinesAsync(pidFile).ConfigureAwait(false)).FirstOrDefault(), out var pid))
        {
            await ChildProcess.StopStaleAsync(pid, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
    }

    private static async Task RunOrThrowAsync(string fileName, string[] arguments, string? runAs, CancellationToken cancellationToken)
    {
        var (code, output) = await ChildProcess.RunAsync(fileName, arguments, runAs, cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(fileName)} failed ({code}):{Environment.NewLine}{output}");
        }
    }
}
