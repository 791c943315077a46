using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Kannon.Bench;

/// <summary>Postfix's smtp-sink on loopback: accepts and discards mail, counting messages (-c).</summary>
internal sealed partial class PostfixSmtpSink : IAsyncDisposable
{
    private readonly Process _process;
    private long _count;

    private PostfixSmtpSink(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public long Count => Interlocked.Read(ref _count);

    public static PostfixSmtpSink Start(int port)
    {
        var path = new[] { "/usr/sbin/smtp-sink", "/usr/lib/postfix/sbin/smtp-sink" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("smtp-sink not found: apt-get install postfix");
        var info = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", "-u", "nobody", $"127.0.0.1:{port}", "1024" })
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info)!;
        var sink = new PostfixSmtpSink(process, port);
        _ = Task.Run(sink.ReadCounterAsync);
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        return sink;
    }

    /// <summary>smtp-sink -c rewrites one line with \r as it counts; keep the last number.</summary>
    private async Task ReadCounterAsync()
    {
        var buffer = new char[4096];
        var pending = "";
        int read;
        while ((read = await _process.StandardOutput.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            pending += new string(buffer, 0, read);
            var numbers = Number().Matches(pending);
            if (numbers.Count > 0 && long.TryParse(numbers[^1].Value, out var n))
            {
                Interlocked.Exchange(ref _count, n);
            }

            if (pending.Length > 256)
            {
                pending = pending[^64..];
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"\d+")]
    private static partial Regex Number();
}
