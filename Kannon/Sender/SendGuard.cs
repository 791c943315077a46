using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Sender;

/// <summary>
/// At most one SMTP transaction per dispatched Envelope (DESIGN §4), across redeliveries and restarts:
/// a JetStream KV entry per stream message, created as "sending" before SMTP and overwritten with the
/// outcome after it. A redelivered message finds the entry and republishes the outcome instead of sending;
/// one that still says "sending" was interrupted, and is never sent again.
/// </summary>
internal sealed partial class SendGuard(INatsJSContext jetStream, ILogger<SendGuard> logger)
{
    public const string Bucket = "kannon-sent-envelopes";

    /// <summary>Bucket-wide (NATS 2.9 has no per-key TTL); far longer than any redelivery of an unacked message.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    private const string SendingPrefix = "sending ";
    private const string OutcomePrefix = "outcome ";

    private static readonly NatsKVConfig Config = new(Bucket)
    {
        Description = "Kannon Sender: one entry per kannon-sending message, 'sending' then its outcome",
        History = 1,
        MaxAge = Retention,
        Storage = NatsKVStorageType.File,
        NumberOfReplicas = 1,
    };

    private INatsKVStore? _store;

    /// <summary>The key for one stream message: its sequence, plus a hash of the Envelope id so a recreated stream never matches old entries.</summary>
    public static string KeyOf(ulong streamSequence, string emailId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(emailId), hash);
        return $"{streamSequence}.{Base64UrlNoPad(hash[..8])}";
    }

    /// <summary>Creates the bucket (idempotent), retrying with backoff until NATS answers.</summary>
    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        for (var attempt = 1; _store is null; attempt++)
        {
            try
            {
                _store = await new NatsKVContext(jetStream).CreateOrUpdateStoreAsync(Config, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                LogBucketRetry(logger, attempt, delay, e.Message);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    /// <summary>Claims the key for a send, or says what an earlier delivery of the same message left in it.</summary>
    /// <exception cref="GuardUnavailableException">The bucket cannot be read or written now; do not send.</exception>
    public async Task<GuardEntry> BeginAsync(string key, string holder, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var store = _store ?? throw new InvalidOperationException("EnsureAsync first");
        try
        {
            var value = Encoding.UTF8.GetBytes($"{SendingPrefix}{holder} {now:O}");
            var created = await store.TryCreateAsync(key, value, NatsRawSerializer<byte[]>.Default, cancellationToken).ConfigureAwait(false);
            if (created.Success)
            {
                return GuardEntry.Claimed;
            }

            if (created.Error is not NatsKVCreateException)
            {
                throw new GuardUnavailableException(created.Error.Message, created.Error);
            }

            var existing = await store.TryGetEntryAsync(key, serializer: NatsRawSerializer<byte[]>.Default, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!existing.Success)
            {
                // Gone between the two calls (aged out): whatever happened to it, it was not a clean outcome.
                return existing.Error is NatsKVKeyNotFoundException or NatsKVKeyDeletedException
                    ? GuardEntry.Interrupted
                    : throw new GuardUnavailableException(existing.Error.Message, existing.Error);
            }

            return Parse(existing.Value.Value);
        }
        catch (Exception e) when (e is NatsException or TimeoutException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new GuardUnavailableException(e.Message, e);
        }
    }

    /// <summary>
    /// Stores the outcome, so a redelivery republishes it. Retried until <paramref name="cancellationToken"/> ends:
    /// an entry left at "sending" makes the redelivery report an interrupted transaction and the Dispatcher send
    /// the mail again, so a NATS restart while the receiver's 250 arrives must not cost the record.
    /// False (logged) when the bucket did not take it in time.
    /// </summary>
    public async Task<bool> RecordAsync(string key, StatsEvent outcome, CancellationToken cancellationToken)
    {
        var store = _store ?? throw new InvalidOperationException("EnsureAsync first");
        var value = Encoding.ASCII.GetBytes(OutcomePrefix + Convert.ToBase64String(outcome.ToByteArray()));
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            string reason;
            try
            {
                var put = await store.TryPutAsync(key, value, NatsRawSerializer<byte[]>.Default, cancellationToken).ConfigureAwait(false);
                if (put.Success)
                {
                    return true;
                }

                reason = put.Error.Message;
            }
            catch (Exception e) when (e is NatsException or TimeoutException or OperationCanceledException)
            {
                reason = e.Message;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                LogRecordFailed(logger, key, reason);
                return false;
            }

            LogRecordRetry(logger, key, delay, reason);
            await Task.Delay(delay, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
        }
    }

    private static GuardEntry Parse(byte[]? value)
    {
        var text = value is null ? string.Empty : Encoding.UTF8.GetString(value);
        if (text.StartsWith(OutcomePrefix, StringComparison.Ordinal))
        {
            try
            {
                return GuardEntry.Recorded(StatsEvent.Parser.ParseFrom(Convert.FromBase64String(text[OutcomePrefix.Length..])));
            }
            catch (Exception e) when (e is FormatException or InvalidProtocolBufferException)
            {
                return GuardEntry.Interrupted;
            }
        }

        // "sending …" or anything we do not recognise: a transaction may have happened, so no second one.
        return GuardEntry.Interrupted;
    }

    private static string Base64UrlNoPad(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [LoggerMessage(Level = LogLevel.Warning, Message = "Send guard bucket " + Bucket + " not ready (attempt {Attempt}), retrying in {Delay}: {Reason}")]
    private static partial void LogBucketRetry(ILogger logger, int attempt, TimeSpan delay, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Send guard: recording the outcome under {Key} failed, retrying in {Delay}: {Reason}")]
    private static partial void LogRecordRetry(ILogger logger, string key, TimeSpan delay, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Send guard could not record the outcome under {Key}: {Reason}")]
    private static partial void LogRecordFailed(ILogger logger, string key, string reason);
}
