using Microsoft.Extensions.Diagnostics.HealthChecks;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Kannon.Messaging;

/// <summary>Ready when NATS is connected and every stream of the topology exists.</summary>
internal sealed class NatsHealthCheck(NatsConnection connection, INatsJSContext jetStream) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            await connection.ConnectAsync().ConfigureAwait(false);
            if (connection.ConnectionState != NatsConnectionState.Open)
            {
                return HealthCheckResult.Unhealthy($"nats: {connection.ConnectionState}");
            }

            foreach (var stream in Topology.Streams)
            {
                await jetStream.GetStreamAsync(stream.Name!, cancellationToken: timeout.Token).ConfigureAwait(false);
            }

            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is NatsException or OperationCanceledException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy($"nats: {e.Message}");
        }
    }
}
