using Kannon.Messaging;
using Microsoft.Extensions.Hosting;

namespace Kannon.Stats;

internal sealed class StatsWorker(TopologyProvisioner topology) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => topology.EnsureAsync(stoppingToken);
}
