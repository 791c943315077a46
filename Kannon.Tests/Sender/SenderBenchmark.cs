using System.Diagnostics;
using System.Globalization;
using Kannon.Messaging;
using Kannon.Tests.Infrastructure;
using NATS.Client.JetStream;
using Xunit.Abstractions;

namespace Kannon.Tests.Sender;

/// <summary>
/// Throughput of one Sender process: N Envelopes already in kannon-sending, one MX on loopback, timed from
/// the moment the Sender is ready until every Envelope is delivered, its outcome stored in kannon-stats and
/// its message acked. Knobs: KANNON_BENCH_MESSAGES (20000), KANNON_BENCH_JOBS (sender.max_jobs, 200),
/// KANNON_BENCH_CONNECTIONS (sender.max_connections_per_host, 20).
/// </summary>
public sealed class SenderBenchmark(NatsFixture nats, ITestOutputHelper output) : IClassFixture<NatsFixture>
{
    /// <summary>The Sender's own capacity: the MX is a minimal sink, as a remote MX costs this machine nothing.</summary>
    [BenchFact]
    public async Task Sender_throughput_to_one_mx()
    {
        await using var sink = new SmtpSink();
        await RunAsync("minimal sink", sink.Port, () => sink.Messages, () => sink.Connections);
    }

    /// <summary>The same, with the receiving MX (SmtpServer package) on the same two cores.</summary>
    [BenchFact]
    public async Task Sender_throughput_to_one_mx_sharing_the_cores_with_a_full_smtp_server()
    {
        await using var receiver = await RecordingSmtpServer.StartAsync();
        receiver.KeepMessages = false;
        await RunAsync("SmtpServer receiver", receiver.Port, () => receiver.Received, () => receiver.Connections);
    }

    private async Task RunAsync(string mx, int port, Func<int> received, Func<int> connections)
    {
        var count = Knob("KANNON_BENCH_MESSAGES", 20_000);
        var jobs = Knob("KANNON_BENCH_JOBS", 200);
        var perHost = Knob("KANNON_BENCH_CONNECTIONS", 20);
        await using var harness = await SenderHarness.StartAsync(nats, new Dictionary<string, string?>
        {
            ["sender:port"] = port.ToString(CultureInfo.InvariantCulture),
            ["sender:max_jobs"] = jobs.ToString(CultureInfo.InvariantCulture),
            ["sender:max_connections_per_host"] = perHost.ToString(CultureInfo.InvariantCulture),
        });

        // The first start made the streams and the consumer (so the stream keeps what we publish); now fill it.
        await harness.StopSenderAsync();
        var body = SenderHarness.SampleMessage("someone@example.net");
        var published = Stopwatch.StartNew();
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
            await harness.PublishAsync(harness.Envelope($"user{i}@example.net", body)));
        output.WriteLine($"published {count} Envelopes of {body.Length} bytes in {published.Elapsed.TotalSeconds:0.0} s");

        var stats = await harness.JetStream.GetStreamAsync(Topology.StatsStream);
        await stats.RefreshAsync();
        var statsBefore = stats.Info.State.Messages;
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        await harness.StartSenderAsync();
        var clock = Stopwatch.StartNew();
        await Eventually.HoldsAsync(async () =>
        {
            await stats.RefreshAsync();
            return received() >= count && stats.Info.State.Messages - statsBefore >= count;
        }, TimeSpan.FromMinutes(10), "every Envelope delivered and reported");
        await Eventually.HoldsAsync(async () =>
        {
            var consumer = await harness.JetStream.GetConsumerAsync(Topology.SendingStream, Topology.SenderConsumer);
            return consumer.Info is { NumAckPending: 0, NumPending: 0 };
        }, TimeSpan.FromMinutes(1), "every Envelope acked");
        var elapsed = clock.Elapsed;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;

        var line = $"SENDER BENCH ({mx}): {count} messages of {body.Length} B, max_jobs {jobs}, {perHost} connections/host, " +
                   $"{connections()} SMTP connections opened: {elapsed.TotalSeconds:0.00} s = {count / elapsed.TotalSeconds:0} msg/s " +
                   $"on {Environment.ProcessorCount} cores; test process CPU {cpu.TotalMilliseconds * 1000 / count:0} us/msg";
        output.WriteLine(line);
        Console.WriteLine(line);
        received().Should().Be(count, "each Envelope is sent exactly once");
    }

    private static int Knob(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), CultureInfo.InvariantCulture, out var value) ? value : fallback;
}
