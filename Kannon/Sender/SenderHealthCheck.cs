using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Kannon.Sender;

/// <summary>Ready once the Sender has its send guard bucket and is pulling Envelopes.</summary>
internal sealed class SenderHealthCheck(SenderWorker worker) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(worker.Consuming
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("sender: not consuming kannon-sending yet"));
}
