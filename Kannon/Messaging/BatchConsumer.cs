using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Kannon.Messaging;

/// <summary>
/// The loop of a worker that reads a durable consumer a fetched batch at a time: fetch up to <c>batchSize</c>
/// (a short expiry, so a NATS restart is noticed quickly), hand a non-empty batch to the handler, and on a NATS
/// failure look the consumer up again after a pause instead of giving up. A message that does not decode is
/// logged and terminated here, at its first delivery (redelivering it would fail the same way), so the handler
/// only ever sees messages whose <c>Data</c> is set, and answers every one of them.
/// </summary>
internal static partial class BatchConsumer
{
    private static readonly TimeSpan FetchExpires = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    public static async Task RunAsync<T>(
        INatsJSContext jetStream, string stream, string consumerName, int batchSize,
        Func<List<INatsJSMsg<T>>, Task> handle, ILogger logger, CancellationToken stoppingToken)
        where T : Google.Protobuf.IMessage<T>, new()
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var consumer = await jetStream.GetConsumerAsync(stream, consumerName, stoppingToken).ConfigureAwait(false);
                while (!stoppingToken.IsCancellationRequested)
                {
                    var batch = new List<INatsJSMsg<T>>(batchSize);
                    await foreach (var message in consumer.FetchAsync(new NatsJSFetchOpts { MaxMsgs = batchSize, Expires = FetchExpires },
                        ProtobufSerializer<T>.Default, stoppingToken).ConfigureAwait(false))
                    {
                        if (message.Error is not null || message.Data is null)
                        {
                            LogUndecodable(logger, typeof(T).Name, message.Subject, message.Error?.Message ?? "empty payload");
                            await message.GiveUpAsync($"undecodable {typeof(T).Name} payload").ConfigureAwait(false);
                            continue;
                        }

                        batch.Add(message);
                    }

                    if (batch.Count > 0)
                    {
                        await handle(batch).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NatsException or TimeoutException)
            {
                LogConsumeFailed(logger, consumerName, e.Message);
                await Task.Delay(RetryDelay, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Undecodable {Type} on {Subject} terminated: {Reason}")]
    private static partial void LogUndecodable(ILogger logger, string type, string subject, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consumer {Consumer} failed, reconnecting: {Reason}")]
    private static partial void LogConsumeFailed(ILogger logger, string consumer, string reason);
}
