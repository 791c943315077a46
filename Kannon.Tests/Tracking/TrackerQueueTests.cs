using System.Diagnostics.Metrics;
using Kannon.Stats;
using Kannon.Tracking;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kannon.Tests.Tracking;

public sealed class TrackerQueueTests
{
    [Fact]
    public void A_full_queue_drops_the_newest_hit_and_counts_it()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var metrics = new TrackerMetrics(services.GetRequiredService<IMeterFactory>());
        var dropped = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == TrackerMetrics.Name && instrument.Name == "kannon.tracker.dropped")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref dropped, value));
        listener.Start();
        var queue = new TrackerQueue(metrics, TimeProvider.System, NullLogger<TrackerQueue>.Instance);
        var stat = Outcomes.Opened("msg_1@example.com", "ann@example.org", "example.com", DateTimeOffset.UtcNow, "", "");

        for (var i = 0; i < TrackerQueue.Capacity; i++)
        {
            queue.TryEnqueue(new TrackerEvent("kannon.stats.opened", stat, $"hit:{i}")).Should().BeTrue();
        }

        queue.TryEnqueue(new TrackerEvent("kannon.stats.opened", stat, "hit:newest")).Should().BeFalse();
        queue.TryEnqueue(new TrackerEvent("kannon.stats.opened", stat, "hit:newer-still")).Should().BeFalse();

        queue.Count.Should().Be(TrackerQueue.Capacity);
        queue.Reader.TryRead(out var oldest).Should().BeTrue();
        oldest!.MessageId.Should().Be("hit:0", "the oldest hits are kept");
        Interlocked.Read(ref dropped).Should().Be(2);
    }
}
