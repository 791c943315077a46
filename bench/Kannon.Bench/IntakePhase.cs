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
        await WarmClientAsync(kannon, size, options, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// This client's first large call ran its HTTP/2 send path cold (tier-0 code being recompiled while it sent): ~0.2 s
    /// to hand 5 MB to Kannon over loopback. A call of the same size that Kannon refuses at once (no html) warms the
    /// client without giving Kannon anything to store or deliver.
    /// </summary>
    private static async Task WarmClientAsync(KannonInstance kannon, int size, BenchOptions options, CancellationToken cancellationToken)
    {
        var refused = BenchMessage.Request(BenchMessage.IntakeDomain, 0, size);
        refused.Html = "";
        for (var i = 0; i < 3; i++)
        {
            try
            {
                await kannon.SendEncodedAllAcceptedAsync(Google.Protobuf.MessageExtensions.ToByteArray(refused), size, options.Timeout, cancellationToken).ConfigureAwait(false);
                throw new InvalidOperationException("kannon accepted a SendHTML without html");
            }
            catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.InvalidArgument)
            {
            }
        }
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
