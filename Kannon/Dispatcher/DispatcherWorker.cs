using Kannon.Messaging;
using Microsoft.Extensions.Hosting;

namespace Kannon.Dispatcher;

internal sealed class DispatcherWorker(TopologyProvisioner topology) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => topology.EnsureAsync(stoppingToken);
}
