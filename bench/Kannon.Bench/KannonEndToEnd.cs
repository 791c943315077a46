using System.Diagnostics;

namespace Kannon.Bench;

/// <summary>Phase 1: N recipients in calls of --call → smtp-sink through the MX; msg/s, CPU per message, peak RSS.</summary>
internal static class KannonEndToEnd
{
    /// <returns>Delivered messages per second, from the first call until the sink counted N.</returns>
    public static async Task<(double MessagesPerSecond, bool AllDelivered)> RunAsync(KannonInstance kannon, PostfixSmtpSink sink, BenchOptions options, CancellationToken cancellationToken)
    {
        var n = options.Messages;
        var baseline = sink.Count;
        var cpuBefore = kannon.Process.CpuTime();
        var clock = Stopwatch.StartNew();
        var intake = TimeSpan.Zero;
        for (var sent = 0; sent < n; sent += options.CallSize)
        {
            var request = BenchMessage.Request(BenchMessage.RecipientDomain, sent, Math.Min(options.CallSize, n - sent));
            var call = Stopwatch.StartNew();
            await kannon.SendAllAcceptedAsync(request, options.Timeout, cancellationToken).ConfigureAwait(false);
            intake += call.Elapsed;
        }

        var intakeDone = clock.Elapsed;
        var deadline = clock.Elapsed + options.Timeout;
        // When the sink passed each share of N: a long tail (retries, a stalled stage) shows here, not in msg/s.
        var shares = new[] { 0.5, 0.9, 0.99 };
        var reached = new TimeSpan?[shares.Length];
        while (sink.Count - baseline < n && clock.Elapsed < deadline && !kannon.Process.HasExited)
        {
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < shares.Length; i++)
            {
                reached[i] ??= sink.Count - baseline >= shares[i] * n ? clock.Elapsed : null;
            }
        }

        var total = clock.Elapsed;
        var delivered = sink.Count - baseline;
        for (var i = 0; i < shares.Length; i++)
        {
            reached[i] ??= delivered >= shares[i] * n ? total : null;
        }

        var cpu = kannon.Process.CpuTime() - cpuBefore;
        var rate = delivered / total.TotalSeconds;
        Console.WriteLine($"kannon end to end: intake {n} recipients in {intake.TotalSeconds:F2} s of API calls = {n / intake.TotalSeconds:F0} recipients/s (all calls done after {intakeDone.TotalSeconds:F2} s)");
        Console.WriteLine($"kannon end to end: {delivered} of {n} messages at the sink in {total.TotalSeconds:F2} s = {rate:F0} msg/s");
        Console.WriteLine("kannon end to end: sink reached " + string.Join(", ", shares.Select((share, i) =>
            $"{share * 100:F0}% at {(reached[i] is { } t ? $"{t.TotalSeconds:F2} s" : "—")}")));
        Console.WriteLine($"kannon end to end: cpu {cpu.TotalMilliseconds / Math.Max(1, delivered):F2} ms per delivered message (kannon process, not its PostgreSQL/NATS); peak RSS {kannon.Process.PeakRssMiB():F0} MiB");
        return (rate, delivered >= n);
    }
}
