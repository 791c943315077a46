using System.Diagnostics;
using System.Globalization;

namespace Kannon.Bench;

/// <summary>The built kannon executable, run with --run-all, measured from outside through /proc.</summary>
internal sealed class KannonUnderTest : IAsyncDisposable
{
    private readonly Process _process;

    private KannonUnderTest(Process process) => _process = process;

    public int Pid => _process.Id;

    public static KannonUnderTest Start(string executable, IDictionary<string, string> environment, string log)
    {
        var info = new ProcessStartInfo(executable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("--run-all");
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("KANNON_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info)!;
        var writer = TextWriter.Synchronized(new StreamWriter(log) { AutoFlush = true });
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) writer.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) writer.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new KannonUnderTest(process);
    }

    public bool HasExited => _process.HasExited;

    /// <summary>User + system CPU time of the kannon process (not its PostgreSQL and NATS children).</summary>
    public TimeSpan CpuTime()
    {
        var stat = File.ReadAllText($"/proc/{Pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    /// <summary>Peak resident set size (VmHWM) in MiB.</summary>
    public double PeakRssMiB()
    {
        var line = File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }

    /// <summary>
    /// Starts a new peak-RSS window: writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0, as
    /// root or the owner). False when the kernel refused, so the next peak also covers what came before.
    /// </summary>
    public bool ResetPeakRss()
    {
        try
        {
            File.WriteAllText($"/proc/{Pid}/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Waits until the process uses under 5 % of a core for half a second: nothing left in flight.</summary>
    public async Task<bool> WaitIdleAsync(TimeSpan within, CancellationToken cancellationToken)
    {
        var window = TimeSpan.FromMilliseconds(500);
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline && !HasExited)
        {
            var before = CpuTime();
            await Task.Delay(window, cancellationToken).ConfigureAwait(false);
            if (CpuTime() - before < window * 0.05)
            {
                return true;
            }
        }

        return false;
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            // Graceful first, so kannon stops its embedded PostgreSQL and NATS; the whole tree goes if it hangs.
            await ChildProcess.StopAsync(_process, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }

        _process.Dispose();
    }
}
