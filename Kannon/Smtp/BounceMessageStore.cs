using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Kannon.Messaging;
using Kannon.Stats;
using Microsoft.Extensions.Logging;
using MimeKit;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Kannon.Smtp;

/// <summary>
/// DATA for return paths: reads the report (<see cref="DeliveryReports"/>) and publishes <c>bounced</c> on
/// <c>kannon.stats.bounced</c> for each RCPT's recipient and Batch. The 250 comes only after JetStream stored
/// every bounce; a failed publish answers 451 so the remote server retries, and the Nats-Msg-Id (a hash of
/// the message and the return path) makes that retry, or a resent copy, count once. A report that is not a
/// bounce is logged and accepted. Nothing here may end the session's server: unreadable mail is a 554.
/// </summary>
internal sealed partial class BounceMessageStore(EventPublisher publisher, TimeProvider time, ILogger<BounceMessageStore> logger)
    : MessageStore
{
    // NATS.Net holds a publish while it reconnects; the remote server should hear 451 well before its own timeout.
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(10);

    public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer,
        CancellationToken cancellationToken)
    {
        var raw = buffer.ToArray();
        MimeMessage message;
        try
        {
            message = await MimeMessage.LoadAsync(new MemoryStream(raw, writable: false), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FormatException or ParseException or ArgumentException or InvalidOperationException)
        {
            LogUnreadable(logger, raw.Length, e.Message);
            return SmtpReplies.Unreadable;
        }

        using var publishTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        publishTimeout.CancelAfter(PublishTimeout);
        try
        {
            foreach (var to in transaction.To)
            {
                if (!BounceAddress.TryParse(to, out var recipient, out var batchId, out var domain))
                {
                    continue;   // refused at RCPT already
                }

                var verdict = DeliveryReports.Read(message, recipient);
                if (!verdict.IsBounce)
                {
                    LogNotABounce(logger, batchId, verdict.Message);
                    continue;
                }

                var stat = Outcomes.Bounced(batchId, recipient, domain, time.GetUtcNow(), verdict.Permanent, verdict.Code, verdict.Message);
                await publisher.PublishAsync(Subjects.Stats(StatTypes.Bounced), stat, MessageId(raw, to.User + "@" + to.Host), publishTimeout.Token)
                    .ConfigureAwait(false);
                LogBounce(logger, batchId, verdict.Permanent, verdict.Code);
            }
        }
        catch (PublishException e)
        {
            LogPublishFailed(logger, e.Message);
            return SmtpReplies.TryAgainLater;
        }
        catch (OperationCanceledException) when (publishTimeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            LogPublishFailed(logger, $"no answer from NATS within {PublishTimeout.TotalSeconds:0} s");
            return SmtpReplies.TryAgainLater;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A report we failed to read because of our own bug: defer rather than accept and lose it.
            LogFailed(logger, e);
            return SmtpReplies.TryAgainLater;
        }

        return SmtpReplies.Accepted;
    }

    /// <summary>Same message to the same return path = same id, so JetStream stores one bounce for a retried or resent report.</summary>
    internal static string MessageId(byte[] raw, string returnPath)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(raw);
        hash.AppendData([0]);
        hash.AppendData(Encoding.UTF8.GetBytes(returnPath.ToLowerInvariant()));
        return "bounce:" + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Bounce report for Batch {BatchId}: permanent={Permanent}, code {Code}")]
    private static partial void LogBounce(ILogger logger, string batchId, bool permanent, uint code);

    [LoggerMessage(Level = LogLevel.Information, Message = "Report for Batch {BatchId} is not a bounce: {Why}")]
    private static partial void LogNotABounce(ILogger logger, string batchId, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused an unreadable message of {Bytes} bytes: {Reason}")]
    private static partial void LogUnreadable(ILogger logger, int bytes, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not publish a bounce, answering 451 so the sender retries: {Reason}")]
    private static partial void LogPublishFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reading a report failed, answering 451 so the sender retries")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
