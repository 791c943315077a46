using System.Diagnostics;
using System.Globalization;
using Kannon.Messaging;
using Kannon.Tests.Infrastructure;
using NATS.Client.JetStream;
using Xunit.Abstractions;

namespace Kannon.Tests.Sender;

/// <summary>
/// Throughput of one Sender process: N Envelopes already in kannon-sending, one MX (a local SMTP sink),
/// timed from the moment the Sender is ready until every Envelope is delivered, its outcome published and
/// its message acked. Knobs: KANNON_BENCH_MESSAGES (20000), KANNON_BENCH_JOBS (sender.max_jobs, 200),
/// KANNON_BENCH_CONNECTIONS (sender.max_connections_per_host, 20).
/// </summary>
public sealed class SenderBenchmark(NatsFixture nats, ITestOutputHelper output) : IClassFixture<NatsFixture>
{
    [BenchFact]
    public async Task Sender_throughput_to_one_mx()
    {
        var count = Knob("KANNON_BENCH_MESSAGES", 20_000);
        var jobs = Knob("KANNON_BENCH_JOBS", 200);
        var connections = Knob("KANNON_BENCH_CONNECTIONS", 20);
        await using var sink = await RecordingSmtpServer.StartAsync();
        sink.KeepMessages = false;
        await using var harness = await SenderHarness.StartAsync(nats, new Dictionary<string, string?>
        {
            ["sender:max_jobs"] = jobs.ToString(CultureInfo.InvariantCulture),
            ["sender:max_connections_per_host"] = connections.ToString(CultureInfo.InvariantCulture),
        }, receiver: sink);

        // The first start made the streams and the consumer (so the stream keeps what we publish); now fill it.
        await harness.StopSenderAsync();
        var body = SenderHarness.SampleMessage("someone@example.net");
        var published = Stopwatch.StartNew();
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
            await harness.PublishAsync(harness.Envelope($"user{i}@example.net", body)));
        output.WriteLine($"published {count} Envelopes of {body.Length} bytes in {published.Elapsed.TotalSeconds:0.0} s");

        await harness.StartSenderAsync();
        var clock = Stopwatch.StartNew();
        var stats = await harness.JetStream.GetStreamAsync(Topology.StatsStream);
        await Eventually.HoldsAsync(async () =>
        {
            await stats.RefreshAsync();
            return sink.Received >= count && stats.Info.State.Messages >= count;
        }, TimeSpan.FromMinutes(10), "every Envelope delivered and reported");
        var delivered = clock.Elapsed;
        await Eventually.HoldsAsync(async () =>
        {
            var consumer = await harness.JetStream.GetConsumerAsync(Topology.SendingStream, Topology.SenderConsumer);
            return consumer.Info is { NumAckPending: 0, NumPending: 0 };
        }, TimeSpan.FromMinutes(1), "every Envelope acked");
        var acked = clock.Elapsed;

        var rate = count / acked.TotalSeconds;
        var line = $"SENDER BENCH: {count} messages, max_jobs {jobs}, {connections} connections/host, {sink.Connections} SMTP connections opened: " +
                   $"delivered+reported in {delivered.TotalSeconds:0.00} s, acked in {acked.TotalSeconds:0.00} s = {rate:0} msg/s on {Environment.ProcessorCount} cores";
        output.WriteLine(line);
        Console.WriteLine(line);
        sink.Received.Should().Be(count, "each Envelope is sent exactly once");
    }

    private static int Knob(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), CultureInfo.InvariantCulture, out var value) ? value : fallback;
}
