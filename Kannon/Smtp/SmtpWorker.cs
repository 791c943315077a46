using Kannon.Messaging;
using Microsoft.Extensions.Hosting;

namespace Kannon.Smtp;

internal sealed class SmtpWorker(TopologyProvisioner topology) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => topology.EnsureAsync(stoppingToken);
}
