using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace Kannon.Tests.Data;

/// <summary>
/// A throwaway PostgreSQL 15 server for the tests that need one, started from the machine's binaries
/// on a free port and removed on dispose. Each caller gets its own database.
/// </summary>
public sealed class TemporaryPostgres : IAsyncLifetime
{
    private const string BinDirectory = "/usr/lib/postgresql/15/bin";
    private static readonly TimeSpan StartupDeadline = TimeSpan.FromSeconds(30);

    // Not Path.GetTempPath(): under root TMPDIR may point where the postgres user cannot reach.
    private readonly string _root = Path.Combine("/tmp", $"kannon-pg-{Guid.NewGuid():N}");
    private readonly StringBuilder _serverLog = new();
    private Process? _server;
    private int _port;
    private int _databases;

    private static bool IsRoot => Environment.UserName == "root";

    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"kannon_test_{Interlocked.Increment(ref _databases)}";
        await using (var connection = new NpgsqlConnection(ConnectionString("postgres")))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return ConnectionString(name);
    }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_root, "socket"));
        if (IsRoot)
        {
            // initdb refuses to run as root, and the server must own its data directory.
            await RunAsync("chown", ["-R", "postgres:postgres", _root]);
        }

        var data = Path.Combine(_root, "data");
        await RunAsync(
            Tool("initdb"),
            ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"],
            asPostgres: true);

        for (var attempt = 1; ; attempt++)
        {
            _port = FreePort();
            if (await TryStartAsync(data) || attempt == 3)
            {
                break;
            }
        }

        if (_server is null || _server.HasExited)
        {
            throw new InvalidOperationException($"PostgreSQL did not start:\n{ServerLog()}");
        }
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_server is { HasExited: false })
        {
            _server.Kill(entireProcessTree: true);
            await _server.WaitForExitAsync();
        }

        _server?.Dispose();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = _port,
        Username = "postgres",
        Database = database,
        IncludeErrorDetail = true,
    }.ConnectionString;

    private async Task<bool> TryStartAsync(string data)
    {
        var start = StartInfo(
            Tool("postgres"),
            ["-D", data, "-p", _port.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "-k", Path.Combine(_root, "socket"), "-F", "-c", "listen_addresses=127.0.0.1"],
            asPostgres: true);
        _server?.Dispose();
        _server = new Process { StartInfo = start };
        _server.OutputDataReceived += (_, e) => AppendLog(e.Data);
        _server.ErrorDataReceived += (_, e) => AppendLog(e.Data);
        _server.Start();
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartupDeadline)
        {
            if (_server.HasExited)
            {
                return false;
            }

            var ready = await RunAsync(
                Tool("pg_isready"),
                ["-h", "127.0.0.1", "-p", _port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", "1"],
                throwOnFailure: false);
            if (ready == 0)
            {
                return true;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"PostgreSQL was not ready after {StartupDeadline}:\n{ServerLog()}");
    }

    private void AppendLog(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_serverLog)
        {
            _serverLog.AppendLine(line);
        }
    }

    private string ServerLog()
    {
        lock (_serverLog)
        {
            return _serverLog.ToString();
        }
    }

    private static string Tool(string name) => Path.Combine(BinDirectory, name);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments, bool asPostgres)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asPostgres && IsRoot)
        {
            start.FileName = "setpriv";
            foreach (var argument in (string[])["--reuid=postgres", "--regid=postgres", "--init-groups", fileName])
            {
                start.ArgumentList.Add(argument);
            }
        }
        else
        {
            start.FileName = fileName;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    private static async Task<int> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        bool asPostgres = false,
        bool throwOnFailure = true)
    {
        using var process = new Process { StartInfo = StartInfo(fileName, arguments, asPostgres) };
        process.Start();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (throwOnFailure && process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{fileName} exited with {process.ExitCode}:\n{await output}\n{await error}");
        }

        return process.ExitCode;
    }
}
