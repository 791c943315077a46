using System.Net;
using System.Runtime.InteropServices;
using Kannon.Bench;
using Kannon.Tests.Infrastructure;

// Issue #9's benchmark, one run, all on loopback, same message and same smtp-sink for both contenders:
//  1. `kannon --run-all` (embedded PostgreSQL and NATS, DKIM RSA-2048, tracking on, stats on): N recipients
//     through the gRPC API in calls of --call → smtp-sink via a local DNS MX (msg/s, CPU per message, peak
//     RSS); then, idle, 30 single sends timed to the bench's own receiver (p50/p99); then, on a separate
//     throw-away instance, intake of one call of 100,000 and of 1,000,000 recipients in 10 calls.
//  2. A private Postfix + opendkim relaying the same N messages to the same sink.
//  3. The ratio of the two, on the last line.
// Every loop is bounded in count and time; Ctrl-C or SIGTERM stops every child and removes every temp dir.
BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"bench: {e.Message}");
    return 2;
}

using var stop = new CancellationTokenSource();
void Interrupt(PosixSignalContext context)
{
    context.Cancel = true;   // unwind through the cleanups below instead of dying with children alive
    stop.Cancel();
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Interrupt);

var ok = true;
try
{
    // The receiver takes a free port on 127.0.0.2 and the sink the same port on 127.0.0.1: Kannon has one
    // SMTP port for every MX, and the MX's address picks which of the two gets a message.
    await using var receiver = await LoopbackSmtpReceiver.StartAsync(IPAddress.Parse("127.0.0.2"));
    await using var sink = PostfixSmtpSink.Start(receiver.Port);
    await using var dns = new TestDnsServer()
        .Mx(BenchMessage.RecipientDomain, 10, "mx.bench.example").A("mx.bench.example", "127.0.0.1")
        .Mx(BenchMessage.LatencyDomain, 10, "mx-latency.bench.example").A("mx-latency.bench.example", "127.0.0.2")
        .Mx(BenchMessage.IntakeDomain, 10, "mx.bench.example");
    Console.WriteLine($"bench: N={options.Messages} in calls of {options.CallSize}; smtp-sink on 127.0.0.1:{sink.Port}; timeout {options.Timeout.TotalSeconds:F0} s per phase");

    double? kannonRate = null;
    byte[]? deliveredByKannon = null;
    if (!options.SkipEndToEnd)
    {
        await using var kannon = await KannonInstance.StartAsync(options.KannonExecutable, sink.Port, dns.Address, options.SenderJobs, stop.Token);
        try
        {
            (var rate, var all) = await KannonEndToEnd.RunAsync(kannon, sink, options, stop.Token);
            kannonRate = rate;
            ok &= all;
            if (!options.SkipLatency)
            {
                deliveredByKannon = await LatencyPhase.RunAsync(kannon, receiver, options, stop.Token);
                ok &= deliveredByKannon is not null;
            }
        }
        catch
        {
            kannon.KeepLog = true;
            throw;
        }
    }

    if (!options.SkipIntake)
    {
        // Its own sink: the intake instance starts delivering what it accepted, and that must not count.
        await using var intakeSink = PostfixSmtpSink.Start(ChildProcess.FreePort());
        await using var kannon = await KannonInstance.StartAsync(options.KannonExecutable, intakeSink.Port, dns.Address, options.SenderJobs, stop.Token);
        try
        {
            await IntakePhase.RunAsync(kannon, options, stop.Token);
        }
        catch (Exception e) when ((e is InvalidOperationException or Grpc.Core.RpcException or TimeoutException) && !stop.IsCancellationRequested)
        {
            kannon.KeepLog = true;
            ok = false;
            Console.WriteLine($"kannon intake: failed: {e.Message}");
        }

        Console.WriteLine("kannon intake: stopping the intake instance and removing its data");
    }

    var ratio = $"ratio: kannon {(kannonRate is { } measured ? $"{measured:F0} msg/s" : "not measured (--skip-end-to-end)")} / postfix+opendkim ";
    if (options.SkipPostfix)
    {
        Console.WriteLine($"{ratio}not measured (--skip-postfix) (target 6x)");
    }
    else
    {
        try
        {
            var (postfixRate, all) = await PostfixEndToEnd.RunAsync(sink, receiver, deliveredByKannon, options, stop.Token);
            ok &= all;
            var times = kannonRate is { } kannonMeasured ? $"{kannonMeasured / postfixRate:F2}x" : "not measured";
            Console.WriteLine($"{ratio}{postfixRate:F0} msg/s = {times} (target 6x)");
        }
        catch (Exception e) when ((e is InvalidOperationException or TimeoutException or IOException) && !stop.IsCancellationRequested)
        {
            ok = false;
            Console.WriteLine($"postfix+opendkim: failed: {e.Message}");
            Console.WriteLine($"{ratio}not measured (Postfix phase failed, see above) (target 6x)");
        }
    }

    return ok ? 0 : 1;
}
catch (Exception) when (stop.IsCancellationRequested)   // OperationCanceledException, or a gRPC call's Cancelled
{
    Console.Error.WriteLine("bench: interrupted; children stopped and temp dirs removed");
    return 130;
}
