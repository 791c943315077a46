using System.Diagnostics;
using Kannon.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Kannon.Tests.Reliability;

/// <summary>
/// DESIGN §4 under the faults operators see (issue #10): a batch delivered while a Sender, a Dispatcher, NATS,
/// PostgreSQL, the other Sender and the core process fail in turn. Nothing is lost, nothing stays claimed,
/// every Delivery has exactly one terminal outcome counted once, and the receiver gets a message twice only
/// where a transaction was cut between the receiver's 250 and the Sender recording it.
/// </summary>
[Trait("Category", "Slow")]
public sealed class FaultTests(ITestOutputHelper output)
{
    private const int Recipients = 5_000;

    [Fact]
    public async Task A_batch_delivered_through_kills_and_store_restarts_loses_nothing_and_counts_every_delivery_once()
    {
        var clock = Stopwatch.StartNew();
        // A killed Sender's Envelopes come back after the ack wait: seconds here, minutes in production.
        await using var cluster = await FaultCluster.StartAsync(senderAckWait: TimeSpan.FromSeconds(20));
        output.WriteLine($"PostgreSQL, NATS and 5 kannon processes ready after {clock.Elapsed.TotalSeconds:F1} s");

        // Paced (at most ~200 messages/s with two Senders of 10 jobs), so every fault lands while the batch is being delivered.
        cluster.Receiver.RcptDelay = TimeSpan.FromMilliseconds(100);
        clock.Restart();
        try
        {
            await cluster.SendAsync(Recipients, callSize: 1_000);
            output.WriteLine($"{Recipients} recipients accepted in {clock.Elapsed.TotalSeconds:F1} s; {cluster.DeliveredRecipients} delivered so far");

            await FaultSequence.RunAsync(cluster, Recipients, output.WriteLine, waitPerFault: TimeSpan.FromSeconds(180));

            await Eventually.HoldsAsync(async () => cluster.DeliveredRecipients == Recipients && await cluster.PoolCountAsync() == 0,
                TimeSpan.FromSeconds(240), "every recipient delivered and the Pool empty");
            var aggregated = await Eventually.ReturnsAsync(cluster.AggregatedDeliveredAsync, n => n >= Recipients, TimeSpan.FromSeconds(120),
                "the Stats worker counted every delivery");
            var (withOne, withMore) = await cluster.TerminalOutcomesAsync();
            var interrupted = await cluster.InterruptedTransactionsAsync();
            var duplicates = cluster.Duplicates;
            output.WriteLine($"after {clock.Elapsed.TotalSeconds:F1} s: {cluster.DeliveredRecipients} of {Recipients} recipients delivered, "
                + $"{cluster.Receiver.Received} messages at the receiver, {duplicates} duplicates, {interrupted} transactions interrupted by the faults, "
                + $"aggregated delivered {aggregated}, {withOne} Deliveries with one terminal outcome and {withMore} with more, Pool {await cluster.PoolCountAsync()}");

            cluster.DeliveredRecipients.Should().Be(Recipients, "nothing is lost");
            duplicates.Should().BeLessThanOrEqualTo((int)interrupted, "a message is sent twice only when its transaction was cut after the receiver took it");
            aggregated.Should().Be(Recipients, "each delivery is counted once");
            withOne.Should().Be(Recipients, "every Delivery ended in a terminal outcome");
            withMore.Should().Be(0, "and in only one");
            (await cluster.PoolCountAsync()).Should().Be(0, "nothing is left claimed or stranded");
        }
        catch
        {
            output.WriteLine(await cluster.LeftoversAsync(Recipients));
            output.WriteLine(await cluster.NatsTraceOfLeftoversAsync());
            output.WriteLine(await cluster.HistoryOfDeliveriesWithMoreThanOneOutcomeAsync());
            output.WriteLine(cluster.Logs());
            throw;
        }
    }
}
