using Kannon.Messaging;
using Microsoft.Extensions.Hosting;

namespace Kannon.Smtp;

/// <summary>SmtpServer's hosted-service adapter; the streams are made beside it (until they exist a publish fails and the DATA answer is 451).</summary>
internal sealed class SmtpWorker(SmtpServer.SmtpServer server, TopologyProvisioner topology) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(server.StartAsync(stoppingToken), topology.EnsureAsync(stoppingToken));
}
