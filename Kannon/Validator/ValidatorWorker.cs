using Kannon.Messaging;
using Microsoft.Extensions.Hosting;

namespace Kannon.Validator;

internal sealed class ValidatorWorker(TopologyProvisioner topology) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => topology.EnsureAsync(stoppingToken);
}
