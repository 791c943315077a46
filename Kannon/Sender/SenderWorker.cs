using Kannon.Messaging;
using Microsoft.Extensions.Hosting;

namespace Kannon.Sender;

internal sealed class SenderWorker(TopologyProvisioner topology) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => topology.EnsureAsync(stoppingToken);
}
