using Kannon.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Kannon.Messaging;

/// <summary>Creates or updates every stream and consumer of <see cref="Topology"/>, retrying with backoff until NATS answers.</summary>
internal sealed partial class TopologyProvisioner(INatsJSContext jetStream, IOptions<KannonOptions> options, ILogger<TopologyProvisioner> logger)
{
    private readonly SemaphoreSlim _once = new(1, 1);
    private bool _done;

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (_done)
        {
            return;
        }

        await _once.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var delay = TimeSpan.FromMilliseconds(250);
            for (var attempt = 1; !_done; attempt++)
            {
                try
                {
                    foreach (var stream in Topology.Streams)
                    {
                        await jetStream.CreateOrUpdateStreamAsync(stream, cancellationToken).ConfigureAwait(false);
                    }

                    foreach (var (stream, consumer) in Topology.ConsumersFor(options.Value.SenderAckWait))
                    {
                        await jetStream.CreateOrUpdateConsumerAsync(stream, consumer, cancellationToken).ConfigureAwait(false);
                    }

                    _done = true;
                }
                catch (Exception e) when (e is NatsException or TimeoutException && !cancellationToken.IsCancellationRequested)
                {
                    LogRetry(logger, attempt, delay, e.Message);
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
                }
            }
        }
        finally
        {
            _once.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "JetStream setup failed (attempt {Attempt}), retrying in {Delay}: {Reason}")]
    private static partial void LogRetry(ILogger logger, int attempt, TimeSpan delay, string reason);
}
