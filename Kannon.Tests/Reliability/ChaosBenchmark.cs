using System.Diagnostics;
using System.Globalization;
using Kannon.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Kannon.Tests.Reliability;

/// <summary>
/// The fault test's sequence at scale (bench/chaos): KANNON_CHAOS_N recipients (100,000), every wait bounded by
/// KANNON_CHAOS_TIMEOUT_SECONDS. Prints each fault with its recovery time, then lost / duplicates / stranded.
/// </summary>
public sealed class ChaosBenchmark(ITestOutputHelper output)
{
    [BenchFact]
    public async Task Chaos_at_scale()
    {
        var n = Setting("KANNON_CHAOS_N", 100_000);
        var within = TimeSpan.FromSeconds(Setting("KANNON_CHAOS_TIMEOUT_SECONDS", 1_800));
        var clock = Stopwatch.StartNew();
        await using var cluster = await FaultCluster.StartAsync(senderAckWait: TimeSpan.FromSeconds(20), keepMessages: false);
        Report($"N={n}; PostgreSQL, NATS and 5 kannon processes ready after {clock.Elapsed.TotalSeconds:F1} s");
        try
        {
            clock.Restart();
            await cluster.SendAsync(n, callSize: 1_000);
            Report($"{n} recipients accepted in {clock.Elapsed.TotalSeconds:F1} s; {cluster.DeliveredRecipients} delivered so far");

            await FaultSequence.RunAsync(cluster, n, Report, within);
            var deadline = DateTime.UtcNow + within;
            while (DateTime.UtcNow < deadline && (cluster.DeliveredRecipients < n || await cluster.PoolCountAsync() > 0))
            {
                await Task.Delay(500);
            }

            var delivered = cluster.DeliveredRecipients;
            var stranded = await cluster.PoolCountAsync();
            var elapsed = clock.Elapsed;

            // The Stats worker may still be catching up after the core process was killed.
            var (withOne, withMore) = await cluster.TerminalOutcomesAsync();
            while (DateTime.UtcNow < deadline && withOne + withMore < delivered)
            {
                await Task.Delay(500);
                (withOne, withMore) = await cluster.TerminalOutcomesAsync();
            }

            var interrupted = await cluster.InterruptedTransactionsAsync();
            Report($"delivered after {elapsed.TotalSeconds:F1} s ({delivered / elapsed.TotalSeconds:F0} recipients/s through the faults), stats complete after {clock.Elapsed.TotalSeconds:F1} s: "
                + $"lost {n - delivered}, duplicates {cluster.Duplicates} (transactions interrupted: {interrupted}), stranded {stranded}, "
                + $"one terminal outcome {withOne}, more than one {withMore}");

            (n - delivered).Should().Be(0, "nothing is lost");
            stranded.Should().Be(0, "nothing is left in the Pool");
            withOne.Should().Be(n, "every Delivery has a terminal outcome");
            withMore.Should().Be(0, "no Delivery has two terminal outcomes");
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    private void Report(string line) => output.WriteLine($"CHAOS {line}");

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;
}
