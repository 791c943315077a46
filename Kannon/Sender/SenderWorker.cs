using System.Collections.Concurrent;
using System.Diagnostics;
using Kannon.Envelopes;
using Kannon.Messaging;
using Kannon.Protos.Mailer.Types;
using Kannon.Stats;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using NATS.Client.JetStream;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Sender;

/// <summary>
/// Consumes Envelopes from <c>kannon-sending</c> (durable <c>kannon-sending-pool</c>) and runs up to
/// <c>sender.max_jobs</c> SMTP transactions at once. For each message: claim it in the send guard, send,
/// record the outcome in the guard, publish it on <c>kannon.stats.&lt;type&gt;</c>, ack. Redeliveries
/// republish what the guard holds and never send twice.
/// </summary>
internal sealed partial class SenderWorker(
    TopologyProvisioner topology,
    INatsJSContext jetStream,
    SendGuard guard,
    SmtpDelivery delivery,
    EventPublisher publisher,
    SenderMetrics metrics,
    SenderTestHooks hooks,
    IOptions<SenderOptions> options,
    IOptions<Hosting.KannonOptions> kannonOptions,
    TimeProvider time,
    ILogger<SenderWorker> logger) : BackgroundService
{
    public const string InterruptedText = "interrupted transaction, outcome unknown";

    private static readonly TimeSpan GuardRetryDelay = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PublishRetryDelay = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan InProgressRetryDelay = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan AbandonedRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxConsumeBackoff = TimeSpan.FromSeconds(30);

    /// <summary>Recording, publishing and acking an outcome we have: not cut short by shutdown, but bounded.</summary>
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(15);

    private readonly SenderOptions _options = options.Value;

    /// <summary>A tenth of the consumer's ack wait (30 s at the default 5 min), so a slow transaction is never redelivered mid-send.</summary>
    private readonly TimeSpan _progressInterval = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(30).Ticks, kannonOptions.Value.SenderAckWait.Ticks / 10));
    private readonly string _instance = $"{options.Value.Hostname}/{Environment.ProcessId}/{Guid.NewGuid():N}"[..^24];
    private readonly ConcurrentDictionary<long, InFlight> _inFlight = new();
    private readonly ConcurrentDictionary<string, byte> _sending = new(StringComparer.Ordinal);
    private long _nextId;
    private volatile bool _consuming;

    /// <summary>The send guard is in place and the consumer is being pulled from.</summary>
    public bool Consuming => _consuming;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await topology.EnsureAsync(stoppingToken).ConfigureAwait(false);
        await guard.EnsureAsync(stoppingToken).ConfigureAwait(false);

        // In-flight work runs on its own token: stopping the host stops pulling, not sending. Neither is
        // disposed: a handler abandoned at shutdown may still release its slot after this method returns.
        var abort = new CancellationTokenSource();
        var jobs = new SemaphoreSlim(_options.MaxJobs, _options.MaxJobs);
        var keepAlive = KeepAliveAsync(abort.Token);
        LogStarted(logger, _options.MaxJobs, _options.DemoSender ? "demo (no network)" : string.IsNullOrWhiteSpace(_options.Relay.Host) ? "MX" : $"relay {_options.Relay.Host}:{_options.Relay.Port}");
        try
        {
            await ConsumeAsync(jobs, abort.Token, stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            await DrainAsync(abort).ConfigureAwait(false);
            await abort.CancelAsync().ConfigureAwait(false);
            await keepAlive.ConfigureAwait(false);
        }
    }

    private async Task ConsumeAsync(SemaphoreSlim jobs, CancellationToken abort, CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.FromMilliseconds(250);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var consumer = await jetStream.GetConsumerAsync(Topology.SendingStream, Topology.SenderConsumer, stoppingToken).ConfigureAwait(false);
                // Short pulls: after a NATS restart the server has forgotten our pull request, and the client
                // only notices through missed idle heartbeats (half the expiry).
                _consuming = true;
                while (!stoppingToken.IsCancellationRequested)
                {
                    // Pull only as many messages as there are free transaction slots: nothing waits in a client
                    // buffer, so a stopping Sender leaves no message behind to sit out the ack wait.
                    await jobs.WaitAsync(stoppingToken).ConfigureAwait(false);
                    var slots = 1;
                    while (slots < _options.MaxJobs && jobs.Wait(0))
                    {
                        slots++;
                    }

                    var received = 0;
                    try
                    {
                        // Not cancelled by the stop signal: a pull ends by itself within its expiry, and what it
                        // brought is sent rather than dropped. Short pulls also notice a NATS restart quickly.
                        var pull = new NatsJSFetchOpts { MaxMsgs = slots, Expires = TimeSpan.FromSeconds(2) };
                        await foreach (var msg in consumer.FetchAsync(pull, ReceivedEnvelope.Deserializer, CancellationToken.None).ConfigureAwait(false))
                        {
                            received++;
                            _ = RunAsync(Track(msg), jobs, abort);
                            backoff = TimeSpan.FromMilliseconds(250);
                        }
                    }
                    finally
                    {
                        if (slots > received)
                        {
                            jobs.Release(slots - received);
                        }
                    }
                }

                _consuming = false;
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                _consuming = false;
                return;
            }
            catch (Exception e)
            {
                _consuming = false;

                // NATS away, consumer missing, a protocol hiccup: pull again later, never give up.
                LogConsumeFailed(logger, backoff, e);
                try
                {
                    await Task.Delay(backoff, time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxConsumeBackoff.Ticks));
            }
        }
    }

    private InFlight Track(INatsJSMsg<ReceivedEnvelope> msg)
    {
        var flight = new InFlight(Interlocked.Increment(ref _nextId), msg, time.GetUtcNow());
        _inFlight[flight.Id] = flight;
        return flight;
    }

    private void Untrack(InFlight flight)
    {
        _inFlight.TryRemove(flight.Id, out _);
        flight.Done.TrySetResult();
    }

    private async Task RunAsync(InFlight flight, SemaphoreSlim jobs, CancellationToken abort)
    {
        try
        {
            await HandleAsync(flight.Message, abort).ConfigureAwait(false);
        }
        finally
        {
            jobs.Release();
            Untrack(flight);

            // Every await that could read the body has ended (a transaction is never abandoned while it still writes).
            flight.Message.Data?.Release();
        }
    }

    private async Task HandleAsync(INatsJSMsg<ReceivedEnvelope> msg, CancellationToken abort)
    {
        var sequence = msg.Metadata?.Sequence.Stream ?? 0;
        using var activity = SenderMetrics.Tracing.StartActivity("kannon.sender.envelope", ActivityKind.Consumer, DispatchHeaders.TraceContextOf(msg.Headers));
        activity?.SetTag("messaging.message.id", sequence);
        try
        {
            if (msg.Error is not null || msg.Data?.Email is not { } email)
            {
                var reason = msg.Error?.InnerException?.Message ?? msg.Error?.Message ?? "empty payload";
                LogUndecodable(logger, sequence, reason);
                await TerminateQuietlyAsync(msg, abort).ConfigureAwait(false);
                return;
            }

            if (!EnvelopeIds.TryParseEmailId(email.EmailId, out _, out var batchId))
            {
                LogBadEmailId(logger, sequence, email.EmailId);
                await TerminateQuietlyAsync(msg, abort).ConfigureAwait(false);
                return;
            }

            var key = SendGuard.KeyOf(sequence, email.EmailId, msg.Headers);
            if (!_sending.TryAdd(key, 0))
            {
                // Redelivered while this process still works on it: come back when it is done.
                await NakQuietlyAsync(msg, InProgressRetryDelay, abort).ConfigureAwait(false);
                return;
            }

            try
            {
                await GuardedSendAsync(msg, email, sequence, key, batchId, activity, abort).ConfigureAwait(false);
            }
            finally
            {
                _sending.TryRemove(key, out _);
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            // Shut down mid-transaction: hand the message back at once. Its guard entry still says "sending",
            // so whoever gets it reports an interrupted transaction instead of sending again.
            LogAbandoned(logger, sequence);
            await HandBackAsync(msg).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            LogUnexpected(logger, sequence, e);
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            await NakQuietlyAsync(msg, PublishRetryDelay, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task GuardedSendAsync(INatsJSMsg<ReceivedEnvelope> msg, EmailToSend email, ulong sequence, string key, string batchId, Activity? activity, CancellationToken abort)
    {
        GuardEntry entry;
        try
        {
            entry = await guard.BeginAsync(key, _instance, time.GetUtcNow(), abort).ConfigureAwait(false);
        }
        catch (GuardUnavailableException e)
        {
            // Never send unguarded (the original failed open here): wait for the bucket.
            LogGuardUnavailable(logger, sequence, e.Message);
            await NakQuietlyAsync(msg, GuardRetryDelay, abort).ConfigureAwait(false);
            return;
        }

        var domain = EnvelopeIds.DomainOfBatch(batchId)!;
        StatsEvent stat;
        switch (entry.State)
        {
            case GuardState.Recorded:
                stat = entry.Outcome!;
                LogRepublish(logger, sequence, Outcomes.TypeOf(stat));
                break;
            case GuardState.Interrupted:
                stat = ToStat(new SendOutcome.Retry(0, InterruptedText), batchId, email.To, domain);
                LogInterrupted(logger, sequence, email.EmailId);
                break;
            default:
                var started = time.GetTimestamp();
                var outcome = _options.DemoSender
                    ? DemoSender.Send(email.To)
                    : await delivery.SendAsync(email.ReturnPath, email.To, email.Body.Memory, abort).ConfigureAwait(false);
                stat = ToStat(outcome, batchId, email.To, domain);
                metrics.Delivery(time.GetElapsedTime(started), Outcomes.TypeOf(stat), email.To[(email.To.LastIndexOf('@') + 1)..].ToLowerInvariant(),
                    stat.Data.DataCase switch
                    {
                        Kannon.Protos.Stats.Types.StatsData.DataOneofCase.Delivered => 250u,
                        Kannon.Protos.Stats.Types.StatsData.DataOneofCase.Bounced => stat.Data.Bounced.Code,
                        Kannon.Protos.Stats.Types.StatsData.DataOneofCase.Error => stat.Data.Error.Code,
                        _ => 0u,
                    });
                LogOutcome(logger, outcome is SendOutcome.Delivered ? LogLevel.Debug : LogLevel.Information, sequence, email.EmailId, outcome);
                break;
        }

        // Once an outcome exists, shutdown must not stop us from recording and reporting it: a delivered
        // message handed back half-settled would come back as "interrupted".
        using var settle = new CancellationTokenSource(SettleTimeout);
        if (entry.State != GuardState.Recorded)
        {
            // Only the outcome the guard holds is ever published: one per stream message, whoever settles it first.
            var settled = await guard.RecordAsync(key, stat, entry.Revision, settle.Token).ConfigureAwait(false);
            if (settled is null)
            {
                // Unrecorded, so unpublished: the redelivery finds "sending" and reports the transaction interrupted.
                await NakQuietlyAsync(msg, PublishRetryDelay, CancellationToken.None).ConfigureAwait(false);
                return;
            }

            // By value: our own update whose answer was lost comes back as a copy of our outcome, not as another's.
            if (!settled.Equals(stat))
            {
                LogSuperseded(logger, sequence, Outcomes.TypeOf(stat), Outcomes.TypeOf(settled));
                stat = settled;
            }
        }

        if (entry.State == GuardState.Claimed && hooks.AfterOutcomeRecorded is { } hook)
        {
            await hook(sequence, abort).ConfigureAwait(false);
        }

        var type = Outcomes.TypeOf(stat);
        activity?.SetTag("kannon.outcome", type);
        try
        {
            // The same id for every publish of this message's outcome: JetStream stores it once.
            await publisher.PublishAsync(Subjects.Stats(type), stat, Outcomes.MessageIdOf(stat, $"sending:{sequence}"), settle.Token, DispatchHeaders.CopyFrom(msg.Headers)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PublishException || (e is OperationCanceledException && settle.IsCancellationRequested))
        {
            LogPublishFailed(logger, sequence, e.Message);
            await NakQuietlyAsync(msg, PublishRetryDelay, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        metrics.Outcome(type);
        try
        {
            await msg.AckAsync(cancellationToken: settle.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or OperationCanceledException)
        {
            // Redelivered later, the guard republishes the same outcome under the same id.
            LogAckFailed(logger, sequence, e.Message);
        }
    }

    private StatsEvent ToStat(SendOutcome outcome, string batchId, string to, string domain)
    {
        var now = time.GetUtcNow();
        return outcome switch
        {
            SendOutcome.Delivered => Outcomes.Delivered(batchId, to, domain, now),
            SendOutcome.Bounced b => Outcomes.Bounced(batchId, to, domain, now, b.Permanent, (uint)Math.Max(0, b.Code), b.Text),
            SendOutcome.Retry r => Outcomes.Error(batchId, to, domain, now, (uint)Math.Max(0, r.Code), r.Text),
            _ => throw new UnreachableException(),
        };
    }

    /// <summary>Tells JetStream every progress interval that slow transactions (and messages waiting for a job) are still being worked on.</summary>
    private async Task KeepAliveAsync(CancellationToken abort)
    {
        using var timer = new PeriodicTimer(_progressInterval / 3, time);
        try
        {
            while (await timer.WaitForNextTickAsync(abort).ConfigureAwait(false))
            {
                var now = time.GetUtcNow();
                foreach (var flight in _inFlight.Values)
                {
                    if (now - flight.LastProgress >= _progressInterval)
                    {
                        flight.LastProgress = now;
                        try
                        {
                            await flight.Message.AckProgressAsync(cancellationToken: abort).ConfigureAwait(false);
                        }
                        catch (NatsException e)
                        {
                            LogAckFailed(logger, flight.Message.Metadata?.Sequence.Stream ?? 0, e.Message);
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task DrainAsync(CancellationTokenSource abort)
    {
        var running = _inFlight.Values.Select(f => f.Done.Task).ToArray();
        if (running.Length == 0)
        {
            return;
        }

        LogDraining(logger, running.Length, _options.DrainTimeout);
        try
        {
            await Task.WhenAll(running).WaitAsync(_options.DrainTimeout, time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await abort.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(10), time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    private async Task NakQuietlyAsync(INatsJSMsg<ReceivedEnvelope> msg, TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await msg.NakAsync(new AckOpts { NakDelay = delay }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or OperationCanceledException)
        {
            LogAckFailed(logger, msg.Metadata?.Sequence.Stream ?? 0, e.Message);
        }
    }

    /// <summary>
    /// At shutdown: a Nak the server confirms, so the message is not lost in a buffer when the connection closes
    /// (it would then wait out the whole ack wait before anyone else could take it).
    /// </summary>
    private async Task HandBackAsync(INatsJSMsg<ReceivedEnvelope> msg)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await msg.NakAsync(new AckOpts { NakDelay = AbandonedRetryDelay, DoubleAck = true }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or OperationCanceledException)
        {
            LogAckFailed(logger, msg.Metadata?.Sequence.Stream ?? 0, e.Message);
        }
    }

    private async Task TerminateQuietlyAsync(INatsJSMsg<ReceivedEnvelope> msg, CancellationToken cancellationToken)
    {
        try
        {
            // No TerminateReason: nats-server 2.9 only knows a bare "+TERM" and ignores "+TERM <reason>" (2.10 added
            // reasons), which would leave the message pending until it is redelivered. The reason is in our log.
            await msg.AckTerminateAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsException or OperationCanceledException)
        {
            LogAckFailed(logger, msg.Metadata?.Sequence.Stream ?? 0, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sender consuming kannon-sending with {MaxJobs} parallel transactions ({Mode})")]
    private static partial void LogStarted(ILogger logger, int maxJobs, string mode);

    [LoggerMessage(Message = "Envelope seq {Sequence} {EmailId}: {Outcome}")]
    private static partial void LogOutcome(ILogger logger, LogLevel level, ulong sequence, string emailId, SendOutcome outcome);

    [LoggerMessage(Level = LogLevel.Error, Message = "Envelope seq {Sequence} is not an EmailToSend ({Reason}); terminated")]
    private static partial void LogUndecodable(ILogger logger, ulong sequence, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Envelope seq {Sequence} has an email_id that is not <recipient/batch id>: '{EmailId}'; terminated")]
    private static partial void LogBadEmailId(ILogger logger, ulong sequence, string emailId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Envelope seq {Sequence} ended {Ours} here, but another Sender had already settled it as {Settled} (it found our transaction unfinished); reporting {Settled}")]
    private static partial void LogSuperseded(ILogger logger, ulong sequence, string ours, string settled);

    [LoggerMessage(Level = LogLevel.Information, Message = "Envelope seq {Sequence} was handled before; republishing its {Type} outcome")]
    private static partial void LogRepublish(ILogger logger, ulong sequence, string type);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Envelope seq {Sequence} {EmailId}: an earlier transaction was interrupted; reporting an error instead of sending again")]
    private static partial void LogInterrupted(ILogger logger, ulong sequence, string emailId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Envelope seq {Sequence} waits: {Reason}")]
    private static partial void LogGuardUnavailable(ILogger logger, ulong sequence, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Envelope seq {Sequence}: publishing the outcome failed ({Reason}); it will be republished")]
    private static partial void LogPublishFailed(ILogger logger, ulong sequence, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Envelope seq {Sequence}: ack/nak not sent: {Reason}")]
    private static partial void LogAckFailed(ILogger logger, ulong sequence, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Envelope seq {Sequence} abandoned at shutdown; handed back to the stream")]
    private static partial void LogAbandoned(ILogger logger, ulong sequence);

    [LoggerMessage(Level = LogLevel.Error, Message = "Envelope seq {Sequence} failed unexpectedly; retrying later")]
    private static partial void LogUnexpected(ILogger logger, ulong sequence, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consuming kannon-sending failed; retrying in {Delay}")]
    private static partial void LogConsumeFailed(ILogger logger, TimeSpan delay, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sender stopping: waiting up to {Timeout} for {Count} transactions in flight")]
    private static partial void LogDraining(ILogger logger, int count, TimeSpan timeout);

    private sealed class InFlight(long id, INatsJSMsg<ReceivedEnvelope> message, DateTimeOffset received)
    {
        public long Id { get; } = id;

        public INatsJSMsg<ReceivedEnvelope> Message { get; } = message;

        public DateTimeOffset LastProgress { get; set; } = received;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
