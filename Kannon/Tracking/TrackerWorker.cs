using Kannon.Messaging;
using Microsoft.Extensions.Hosting;

namespace Kannon.Tracking;

internal sealed class TrackerWorker(TopologyProvisioner topology) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => topology.EnsureAsync(stoppingToken);
}
