namespace Kannon.Tests.Infrastructure;

/// <summary>
/// A probe of nats-server itself, not of Kannon: it runs only when KANNON_NATS_PROBE is set. On the nats-server 2.9.10
/// of this machine it fails in about 3 runs of 8 (ADR 0024), which is what Kannon's recovery has to cover; run it
/// against another nats-server version to see whether it still loses acked messages.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class NatsProbeFactAttribute : FactAttribute
{
    public NatsProbeFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KANNON_NATS_PROBE")))
        {
            Skip = "probe of nats-server: set KANNON_NATS_PROBE=1";
        }
    }
}
