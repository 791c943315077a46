using System.Diagnostics;

namespace Kannon.Tests.Reliability;

/// <summary>
/// The faults of issue #10, in order, each fired once the receiver has a given share of the recipients:
/// kill -9 a Sender, kill -9 a Dispatcher, restart NATS, restart PostgreSQL, kill -9 the other Sender,
/// kill -9 the core process. Every killed process is started again at once.
/// </summary>
internal static class FaultSequence
{
    /// <param name="Inject">Does the damage; the task it returns ends when the component is back.</param>
    public sealed record Fault(string Name, double At, Func<FaultCluster, Task<Task>> Inject);

    /// <param name="DeliveredAt">Recipients at the receiver when the fault hit.</param>
    /// <param name="Recovered">From the fault until the component was back and the receiver had taken more mail after it.</param>
    public sealed record Hit(string Name, int DeliveredAt, TimeSpan Recovered, int DuplicatesSoFar)
    {
        public override string ToString() =>
            $"{Name}: hit at {DeliveredAt} delivered; recovered in {Recovered.TotalSeconds:F1} s; duplicates so far {DuplicatesSoFar}";
    }

    public static IReadOnlyList<Fault> Faults { get; } =
    [
        new("kill -9 sender-1", 0.10, c => c.KillAndRestartAsync(FaultCluster.Sender1)),
        new("kill -9 dispatcher-1", 0.25, c => c.KillAndRestartAsync(FaultCluster.Dispatcher1)),
        new("restart NATS (same store)", 0.40, c => c.RestartNatsAsync()),
        new("restart PostgreSQL (fast shutdown)", 0.55, c => c.RestartPostgresAsync()),
        new("kill -9 sender-2", 0.70, c => c.KillAndRestartAsync(FaultCluster.Sender2)),
        new("kill -9 core", 0.85, c => c.KillAndRestartAsync(FaultCluster.Core)),
    ];

    /// <summary>
    /// Fires every fault at its share of <paramref name="recipients"/> delivered, without waiting for the one before
    /// to recover (faults overlap as they do in production); each fault's recovery is timed on the side. Every wait is bounded.
    /// </summary>
    public static async Task<List<Hit>> RunAsync(FaultCluster cluster, int recipients, Action<string> report, TimeSpan waitPerFault)
    {
        var recoveries = new List<Task<Hit>>();
        foreach (var fault in Faults)
        {
            var threshold = (int)(recipients * fault.At);
            await Infrastructure.Eventually.HoldsAsync(() => Task.FromResult(cluster.DeliveredRecipients >= threshold), waitPerFault,
                $"{threshold} recipients delivered before '{fault.Name}'");
            var deliveredAt = cluster.DeliveredRecipients;
            var clock = Stopwatch.StartNew();
            var back = await fault.Inject(cluster);
            report($"{fault.Name} at {deliveredAt} delivered");
            recoveries.Add(RecoverAsync(cluster, fault.Name, back, clock, deliveredAt, recipients, waitPerFault));
        }

        var hits = new List<Hit>();
        foreach (var recovery in recoveries)
        {
            var hit = await recovery;
            report(hit.ToString());
            hits.Add(hit);
        }

        return hits;
    }

    /// <summary>Recovered: the component is back and the receiver has taken more mail since (a few messages, or the rest).</summary>
    private static async Task<Hit> RecoverAsync(FaultCluster cluster, string name, Task back, Stopwatch clock, int deliveredAt, int recipients, TimeSpan within)
    {
        await back.WaitAsync(within);
        await cluster.WaitAllReadyAsync(within);
        var resumed = Math.Min(recipients, cluster.DeliveredRecipients + Math.Max(10, recipients / 500));
        await Infrastructure.Eventually.HoldsAsync(() => Task.FromResult(cluster.DeliveredRecipients >= resumed), within,
            $"deliveries resume after '{name}'");
        return new Hit(name, deliveredAt, clock.Elapsed, cluster.Duplicates);
    }
}
