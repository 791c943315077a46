using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Kannon.Bench;

/// <summary>
/// Phase 2: the same N messages injected into Postfix + opendkim by smtp-source over 10 persistent sessions,
/// relayed to the same smtp-sink; msg/s from the start of injection until the sink counted N more.
/// </summary>
internal static class PostfixEndToEnd
{
    private const string ProbeDomain = "bench-probe.example";

    public static async Task<(double MessagesPerSecond, bool AllDelivered)> RunAsync(
        PostfixSmtpSink sink, LoopbackSmtpReceiver receiver, byte[]? deliveredByKannon, BenchOptions options, CancellationToken cancellationToken)
    {
        var n = options.Messages;
        var dir = Directory.CreateTempSubdirectory("postfix-bench-message-").FullName;
        try
        {
            var message = Path.Combine(dir, "message.eml");
            var bytes = BenchMessage.ForPostfix(deliveredByKannon);
            await File.WriteAllBytesAsync(message, bytes, cancellationToken).ConfigureAwait(false);
            await using var relay = await PostfixWithOpenDkim.StartAsync(sink.Port, ProbeDomain, receiver.Port, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"postfix+opendkim: {relay.Description}; message of {bytes.Length} bytes, " +
                (deliveredByKannon is null ? "built by the bench (latency phase skipped)" : "as Kannon delivered it, Kannon's DKIM-Signature removed"));

            // One message to the probe first: proves opendkim signs what Postfix relays, and starts Postfix's processes.
            var probe = receiver.ArrivalOf($"probe@{ProbeDomain}");
            await Inject(relay, message, 1, 1, $"probe@{ProbeDomain}", TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
            var probed = await probe.WaitAsync(TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
            var signature = $"d={BenchMessage.SenderDomain}";
            var relayed = Encoding.ASCII.GetString(probed.Raw);
            if (!relayed.Contains("DKIM-Signature:", StringComparison.OrdinalIgnoreCase) || !relayed.Contains(signature, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"the probe relayed by Postfix carries no DKIM-Signature with {signature}: opendkim is not signing");
            }

            var baseline = sink.Count;
            var clock = Stopwatch.StartNew();
            var injection = Inject(relay, message, BenchOptions.PostfixSessions, n, $"user@{BenchMessage.RecipientDomain}", options.Timeout, cancellationToken);
            var deadline = clock.Elapsed + options.Timeout;
            while (sink.Count - baseline < n && clock.Elapsed < deadline && !(injection.IsFaulted || injection.IsCanceled))
            {
                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            }

            var total = clock.Elapsed;
            var delivered = sink.Count - baseline;
            var injected = await injection.ConfigureAwait(false);
            var rate = delivered / total.TotalSeconds;
            Console.WriteLine($"postfix+opendkim: probe signed ({signature}); {n} messages injected over {BenchOptions.PostfixSessions} sessions in {injected.TotalSeconds:F2} s");
            Console.WriteLine($"postfix+opendkim: {delivered} of {n} messages at the sink in {total.TotalSeconds:F2} s = {rate:F0} msg/s");
            return (rate, delivered >= n);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>smtp-source -d keeps each session's connection for all its messages; returns how long injection took.</summary>
    private static async Task<TimeSpan> Inject(PostfixWithOpenDkim relay, string message, int sessions, int count, string to, TimeSpan within, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        await ChildProcess.RunAsync("/usr/sbin/smtp-source",
        [
            "-d",
            "-s", sessions.ToString(CultureInfo.InvariantCulture),
            "-m", count.ToString(CultureInfo.InvariantCulture),
            "-F", message,
            "-f", BenchMessage.From,
            "-t", to,
            $"127.0.0.1:{relay.SmtpPort}",
        ], within, cancellationToken).ConfigureAwait(false);
        return clock.Elapsed;
    }
}
