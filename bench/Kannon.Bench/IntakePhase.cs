using System.Diagnostics;

namespace Kannon.Bench;

/// <summary>
/// Intake on a fresh, separate kannon instance (stopped and removed afterwards, so the million recipients it
/// accepted are never delivered into the end-to-end figures): one call of 100,000 recipients, then 1,000,000
/// recipients in 10 calls of 100,000, every one of which must be accepted.
/// </summary>
internal static class IntakePhase
{
    public static async Task RunAsync(KannonInstance kannon, BenchOptions options, CancellationToken cancellationToken)
    {
        var size = BenchOptions.IntakeCall;
        // Built and encoded outside the timed call: the figure is Kannon's intake, not the bench's object building.
        var single = Google.Protobuf.MessageExtensions.ToByteArray(BenchMessage.Request(BenchMessage.IntakeDomain, 0, size));
        Mark("intake-start");
        var cpu = kannon.Process.CpuTime();
        var clock = Stopwatch.StartNew();
        await kannon.SendEncodedAllAcceptedAsync(single, size, options.Timeout, cancellationToken).ConfigureAwait(false);
        var took = clock.Elapsed;
        Mark("intake-end");
        var cpuOfCall = kannon.Process.CpuTime() - cpu;
        Console.WriteLine($"kannon intake: one call of {size} recipients in {took.TotalSeconds:F2} s = {size / took.TotalSeconds:F0} recipients/s" +
            $" (kannon CPU {cpuOfCall.TotalSeconds:F2} s); peak RSS so far {kannon.Process.PeakRssMiB():F0} MiB");

        var windowReset = kannon.Process.ResetPeakRss();
        var calls = TimeSpan.Zero;
        var cpuOfCalls = TimeSpan.Zero;
        var wall = Stopwatch.StartNew();
        for (var c = 0; c < BenchOptions.IntakeCalls; c++)
        {
            // Built and encoded outside the timed call: the figure is Kannon's intake, not the bench's object building.
            var request = Google.Protobuf.MessageExtensions.ToByteArray(BenchMessage.Request(BenchMessage.IntakeDomain, size * (c + 1), size));
            var before = kannon.Process.CpuTime();
            var call = Stopwatch.StartNew();
            await kannon.SendEncodedAllAcceptedAsync(request, size, options.Timeout, cancellationToken).ConfigureAwait(false);
            calls += call.Elapsed;
            cpuOfCalls += kannon.Process.CpuTime() - before;
        }

        var total = size * BenchOptions.IntakeCalls;
        Console.WriteLine($"kannon intake: {total} recipients in {BenchOptions.IntakeCalls} calls of {size}, all accepted, in {calls.TotalSeconds:F2} s of calls = {total / calls.TotalSeconds:F0} recipients/s ({wall.Elapsed.TotalSeconds:F2} s wall, kannon CPU {cpuOfCalls.TotalSeconds:F2} s in the calls)" +
            $"; peak RSS {(windowReset ? "during them" : "since start")} {kannon.Process.PeakRssMiB():F0} MiB");
    }

    /// <summary>For profiling one call alone: with KANNON_BENCH_MARK_DIR set, a file is touched there at each mark (a script starts and stops perf on them).</summary>
    private static void Mark(string name)
    {
        if (Environment.GetEnvironmentVariable("KANNON_BENCH_MARK_DIR") is { Length: > 0 } directory)
        {
            File.WriteAllText(Path.Combine(directory, name), "");
        }
    }
}
