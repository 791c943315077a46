using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Kannon.Hosting.Embedded;

/// <summary>Starts a server binary, keeps its output for error messages, and stops it with a signal.</summary>
internal sealed partial class ChildProcess : IAsyncDisposable
{
    private const int SigInt = 2;
    private const int SigKill = 9;
    private const int SigTerm = 15;

    private readonly Process _process;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

    private ChildProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process printed, for a failure message.</summary>
    public string Tail => string.Join(Environment.NewLine, _output.TakeLast(30));

    public bool HasPrinted(string text) => _output.Any(line => line.Contains(text, StringComparison.Ordinal));

    /// <summary>Runs as <paramref name="runAs"/> (through setpriv) when given; PostgreSQL refuses to run as root.</summary>
    public static ChildProcess Start(string fileName, IEnumerable<string> arguments, string? runAs = null, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (runAs is null)
        {
            info.FileName = fileName;
        }
        else
        {
            info.FileName = "setpriv";
            foreach (var a in new[] { $"--reuid={runAs}", $"--regid={runAs}", "--init-groups", "--", fileName })
            {
                info.ArgumentList.Add(a);
            }
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) => child.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => child.Keep(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs a command to completion and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IEnumerable<string> arguments, string? runAs = null, CancellationToken cancellationToken = default)
    {
        await using var child = Start(fileName, arguments, runAs);
        await child._process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        child._process.WaitForExit(); // drains the asynchronous output readers
        return (child._process.ExitCode, child.Tail);
    }

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>Asks the process to stop (SIGINT: PostgreSQL's fast shutdown; NATS's clean stop), then kills it after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace, bool interrupt = true)
    {
        if (_process.HasExited)
        {
            return;
        }

        _ = Kill(_process.Id, interrupt ? SigInt : SigTerm);
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _ = Kill(_process.Id, SigKill);
            await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Stops a process left behind by an earlier run (its pid file survived a kill -9).</summary>
    public static async Task StopStaleAsync(int pid, TimeSpan grace)
    {
        if (pid <= 0 || Kill(pid, 0) != 0)
        {
            return;
        }

        _ = Kill(pid, SigInt);
        var deadline = DateTime.UtcNow + grace;
        while (DateTime.UtcNow < deadline && Kill(pid, 0) == 0)
        {
            await Task.Delay(100).ConfigureAwait(false);
        }

        if (Kill(pid, 0) == 0)
        {
            _ = Kill(pid, SigKill);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 200 && _output.TryDequeue(out _))
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
