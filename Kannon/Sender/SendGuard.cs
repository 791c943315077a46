using Kannon.Messaging;
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
/// outcome after it, by compare-and-set on the entry's revision, so exactly one outcome settles it. A redelivered
/// message finds the entry and republishes the outcome instead of sending; one that still says "sending" was
/// interrupted (settled as such), and is never sent again.
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

    /// <summary>
    /// The key for one dispatch of a Delivery: its id and attempt from the dispatch headers (ADR 0024), so every
    /// Envelope of that attempt (a redelivery, or the Dispatcher publishing the attempt again because its outcome was
    /// lost) finds the same entry and never sends twice. An Envelope without dispatch headers (an older Dispatcher)
    /// is keyed by its stream sequence. Both end in a hash of the Envelope id, so a recreated database or stream never
    /// matches old entries.
    /// </summary>
    public static string KeyOf(ulong streamSequence, string emailId, NATS.Client.Core.NatsHeaders? headers = null)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(emailId), hash);
        return DispatchHeaders.TryRead(headers, out var delivery, out var attempt)
            ? $"d{delivery}.a{attempt}.{Base64UrlNoPad(hash[..8])}"
            : $"{streamSequence}.{Base64UrlNoPad(hash[..8])}";
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
            // Twice at most: an entry that ages out between the create and the read is created again.
            for (var attempt = 1; ; attempt++)
            {
                var value = Encoding.UTF8.GetBytes($"{SendingPrefix}{holder} {now:O}");
                var created = await store.TryCreateAsync(key, value, NatsRawSerializer<byte[]>.Default, cancellationToken).ConfigureAwait(false);
                if (created.Success)
                {
                    return GuardEntry.Claimed(created.Value);
                }

                if (created.Error is not NatsKVCreateException)
                {
                    throw new GuardUnavailableException(created.Error.Message, created.Error);
                }

                var existing = await store.TryGetEntryAsync(key, serializer: NatsRawSerializer<byte[]>.Default, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (existing.Success)
                {
                    return Parse(existing.Value.Value, existing.Value.Revision);
                }

                if (existing.Error is not (NatsKVKeyNotFoundException or NatsKVKeyDeletedException) || attempt == 2)
                {
                    throw new GuardUnavailableException(existing.Error.Message, existing.Error);
                }
            }
        }
        catch (Exception e) when (e is NatsException or TimeoutException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new GuardUnavailableException(e.Message, e);
        }
    }

    /// <summary>
    /// Settles the entry with an outcome, if it is still at <paramref name="revision"/> (the "sending" this caller
    /// claimed, or found and is declaring interrupted). Returns the outcome the entry now holds: this one, or the one
    /// another Sender settled it with first, which is then the only one to publish. A Sender that finished a
    /// transaction while another declared it interrupted therefore reports "interrupted" too, and the message is
    /// counted once. Retried until <paramref name="cancellationToken"/> ends; null (logged) when the bucket did not
    /// answer in time, and then nothing may be published.
    /// </summary>
    public async Task<StatsEvent?> RecordAsync(string key, StatsEvent outcome, ulong revision, CancellationToken cancellationToken)
    {
        var store = _store ?? throw new InvalidOperationException("EnsureAsync first");
        var value = Encoding.ASCII.GetBytes(OutcomePrefix + Convert.ToBase64String(outcome.ToByteArray()));
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            string reason;
            try
            {
                var update = await store.TryUpdateAsync(key, value, revision, NatsRawSerializer<byte[]>.Default, cancellationToken).ConfigureAwait(false);
                if (update.Success)
                {
                    return outcome;
                }

                reason = update.Error.Message;
                if (update.Error is NatsKVWrongLastRevisionException)
                {
                    // Settled by someone else, or by our own update whose answer was lost: what it holds now is the outcome.
                    var existing = await store.TryGetEntryAsync(key, serializer: NatsRawSerializer<byte[]>.Default, cancellationToken: cancellationToken).ConfigureAwait(false);
                    if (existing.Success && Parse(existing.Value.Value, existing.Value.Revision) is { State: GuardState.Recorded, Outcome: { } settled })
                    {
                        return settled;
                    }

                    reason = existing.Success ? "the entry changed but holds no outcome" : existing.Error.Message;
                }
            }
            catch (Exception e) when (e is NatsException or TimeoutException or OperationCanceledException)
            {
                reason = e.Message;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                LogRecordFailed(logger, key, reason);
                return null;
            }

            LogRecordRetry(logger, key, delay, reason);
            await Task.Delay(delay, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
        }
    }

    private static GuardEntry Parse(byte[]? value, ulong revision)
    {
        var text = value is null ? string.Empty : Encoding.UTF8.GetString(value);
        if (text.StartsWith(OutcomePrefix, StringComparison.Ordinal))
        {
            try
            {
                return GuardEntry.Recorded(StatsEvent.Parser.ParseFrom(Convert.FromBase64String(text[OutcomePrefix.Length..])), revision);
            }
            catch (Exception e) when (e is FormatException or InvalidProtocolBufferException)
            {
                return GuardEntry.Interrupted(revision);
            }
        }

        // "sending …" or anything we do not recognise: a transaction may have happened, so no second one.
        return GuardEntry.Interrupted(revision);
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
