using System.Diagnostics;

namespace Kannon.Bench;

/// <summary>
/// Single-message latency when Kannon is idle: sequential SendHTML calls of one recipient, each timed from the
/// start of the call until the bench's own receiver has taken the message (end of DATA).
/// </summary>
internal static class LatencyPhase
{
    private static readonly TimeSpan PerMessage = TimeSpan.FromSeconds(30);

    /// <returns>One message as Kannon delivered it (for the Postfix phase), or null when a send did not arrive.</returns>
    public static async Task<byte[]?> RunAsync(KannonInstance kannon, LoopbackSmtpReceiver receiver, BenchOptions options, CancellationToken cancellationToken)
    {
        if (!await kannon.Process.WaitIdleAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false))
        {
            Console.WriteLine("kannon latency: kannon did not go idle within 60 s; measuring anyway");
        }

        var samples = new List<double>(BenchOptions.LatencySends);
        byte[]? sample = null;
        for (var i = 0; i < BenchOptions.LatencySends; i++)
        {
            var request = BenchMessage.Request(BenchMessage.LatencyDomain, i, 1);
            var arrival = receiver.ArrivalOf(request.Recipients[0].Email);
            var start = Stopwatch.GetTimestamp();
            await kannon.SendAllAcceptedAsync(request, PerMessage, cancellationToken).ConfigureAwait(false);
            try
            {
                var arrived = await arrival.WaitAsync(PerMessage, cancellationToken).ConfigureAwait(false);
                samples.Add(Stopwatch.GetElapsedTime(start, arrived.Timestamp).TotalMilliseconds);
                sample ??= arrived.Raw;
            }
            catch (TimeoutException)
            {
                Console.WriteLine($"kannon latency: send {i + 1} did not arrive within {PerMessage.TotalSeconds:F0} s; stopping this phase");
                return null;
            }
        }

        samples.Sort();
        Console.WriteLine($"kannon latency (idle, {samples.Count} sequential sends of 1 recipient, API call → message at the receiver): " +
            $"p50 {Percentile(samples, 50):F1} ms, p99 {Percentile(samples, 99):F1} ms (min {samples[0]:F1}, max {samples[^1]:F1})");
        return sample;
    }

    /// <summary>Nearest-rank percentile of sorted samples (so p99 of 30 samples is the largest).</summary>
    private static double Percentile(List<double> sorted, int percent) =>
        sorted[Math.Clamp((int)Math.Ceiling(percent / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
}
