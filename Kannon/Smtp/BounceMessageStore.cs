using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Kannon.Data;
using Kannon.Envelopes;
using Kannon.Messaging;
using Kannon.Protos.Bounce.Types;
using Kannon.Stats;
using Kannon.Suppression;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Smtp;

/// <summary>
/// DATA for return paths and the feedback address. A report to a return path we signed (ADR 0011) is read
/// (<see cref="DeliveryReports"/>) and becomes a <c>Bounce</c> event on <c>kannon.bounce</c> and, when it is a
/// bounce, the countable <c>bounced</c> stat on <c>kannon.stats.bounced</c>; an ARF complaint at the feedback
/// address (<see cref="FeedbackReports"/>) naming a signed return path becomes a complaint event. A report to a
/// return path we did not sign is answered exactly like a real one and records nothing. The 250 comes only
/// after JetStream stored everything; a refused publish (stream full, NATS down) answers 451 so the remote
/// server retries, and Nats-Msg-Ids derived from the report make that retry, or a resent copy, count once.
/// Nothing here may end the session's server: unreadable mail is a 554.
/// </summary>
internal sealed partial class BounceMessageStore(
    EventPublisher publisher,
    ReturnPathSigner returnPaths,
    IOptions<SmtpOptions> options,
    TimeProvider time,
    ILogger<BounceMessageStore> logger) : MessageStore
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
            var (reports, stats) = Read(message, raw, transaction.To);

            // The events first: a report whose stat was stored but whose event was refused would be resent, and
            // a second stat after the duplicate window would count twice; a second event changes nothing.
            foreach (var (report, id) in reports)
            {
                await publisher.PublishAsync(Subjects.Bounce, report, id, publishTimeout.Token).ConfigureAwait(false);
            }

            foreach (var (stat, id) in stats)
            {
                await publisher.PublishAsync(Subjects.Stats(Outcomes.TypeOf(stat)), stat, id, publishTimeout.Token).ConfigureAwait(false);
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

    /// <summary>What one message says, per RCPT: the events and stats to publish, each with its Nats-Msg-Id.</summary>
    private (List<(Bounce, string)> Reports, List<(StatsEvent, string)> Stats) Read(MimeMessage message, byte[] raw, IEnumerable<SmtpServer.Mail.IMailbox> recipients)
    {
        var reports = new List<(Bounce, string)>();
        var stats = new List<(StatsEvent, string)>();
        var arrivedAt = time.GetUtcNowForDatabase();
        var reportHash = SHA256.HashData(raw);
        var feedbackRead = false;
        foreach (var to in recipients)
        {
            var rcpt = to.User + "@" + to.Host;
            if (BounceMailboxFilter.IsFeedbackAddress(to, options.Value))
            {
                if (!feedbackRead && ReadComplaint(message, arrivedAt, reportHash) is { } complaint)
                {
                    reports.Add((complaint, MessageId("report", raw, rcpt)));
                }

                feedbackRead = true;
                continue;
            }

            if (BounceAddress.Parse(to) is not { } address)
            {
                continue;   // refused at RCPT already
            }

            if (!address.IsSignedBy(returnPaths))
            {
                // Same reply as a real report; nothing recorded, so a forged DSN cannot suppress anybody.
                LogUnsigned(logger, address.Domain);
                continue;
            }

            if (IsUnsubscribeRequest(message))
            {
                // RFC 2369 mailto: the same ids as the Tracker's one-click POST, so both ways count once.
                reports.Add((UnsubscribeRequest.Event(address.BatchId, address.Recipient, address.Domain, "mailto", arrivedAt, reportHash),
                    UnsubscribeRequest.MessageId(address.BatchId, address.Recipient)));
                var unsubscribed = Outcomes.Unsubscribed(address.BatchId, address.Recipient, address.Domain, arrivedAt);
                stats.Add((unsubscribed, Outcomes.MessageIdOf(unsubscribed, "unsubscribe")));
                LogUnsubscribe(logger, address.BatchId, address.Domain);
                continue;
            }

            var verdict = DeliveryReports.Read(message, address.Recipient);
            if (verdict.IsReport)
            {
                reports.Add((BounceEvents.Dsn(address, verdict, arrivedAt, reportHash), MessageId("report", raw, rcpt)));
            }

            if (!verdict.IsBounce)
            {
                LogNotABounce(logger, address.BatchId, verdict.Message);
                continue;
            }

            var stat = Outcomes.Bounced(address.BatchId, address.Recipient, address.Domain, arrivedAt, verdict.Permanent, verdict.Code, verdict.Message);
            stats.Add((stat, MessageId("bounce", raw, rcpt)));
            LogBounce(logger, address.BatchId, verdict.Permanent, verdict.Code);
        }

        return (reports, stats);
    }

    /// <summary>
    /// Mail a recipient sent to the List-Unsubscribe mailto: (the return path, <c>?subject=unsubscribe</c>): not
    /// a report, and the subject asks to unsubscribe. Reports (multipart/report) are never read as one.
    /// </summary>
    private static bool IsUnsubscribeRequest(MimeMessage message) =>
        !(message.Body is Multipart { ContentType.MediaSubtype: var subtype } && subtype.Equals("report", StringComparison.OrdinalIgnoreCase))
        && (message.Subject ?? "").Contains("unsubscribe", StringComparison.OrdinalIgnoreCase);

    private Bounce? ReadComplaint(MimeMessage message, DateTimeOffset arrivedAt, byte[] reportHash)
    {
        if (FeedbackReports.Read(message) is not { } report)
        {
            LogNotAComplaint(logger);
            return null;
        }

        // Only a return path we signed names the complained-about Delivery: a Message-ID is guessable by any
        // other recipient of the same Batch, so on its own it would let anyone suppress anyone (ADR 0011).
        var about = report.ReturnPaths.Select(BounceAddress.Parse).FirstOrDefault(a => a is not null && a.IsSignedBy(returnPaths));
        if (about is null)
        {
            LogComplaintUnsigned(logger, report.FeedbackType, report.MessageId ?? "none");
            return null;
        }

        LogComplaint(logger, about.BatchId, report.FeedbackType);
        return BounceEvents.Complaint(about, report, arrivedAt, reportHash);
    }

    /// <summary>Same message to the same address = same id, so JetStream stores one event for a retried or resent report.</summary>
    internal static string MessageId(string kind, byte[] raw, string rcpt)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(raw);
        hash.AppendData([0]);
        hash.AppendData(Encoding.UTF8.GetBytes(rcpt.ToLowerInvariant()));
        return kind + ":" + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Unsubscribe by mail for Batch {BatchId} of {Domain}")]
    private static partial void LogUnsubscribe(ILogger logger, string batchId, string domain);

    [LoggerMessage(Level = LogLevel.Information, Message = "Bounce report for Batch {BatchId}: permanent={Permanent}, code {Code}")]
    private static partial void LogBounce(ILogger logger, string batchId, bool permanent, uint code);

    [LoggerMessage(Level = LogLevel.Information, Message = "Report for Batch {BatchId} is not a bounce: {Why}")]
    private static partial void LogNotABounce(ILogger logger, string batchId, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Report to a return path of {Domain} that we did not sign: accepted, nothing recorded")]
    private static partial void LogUnsigned(ILogger logger, string domain);

    [LoggerMessage(Level = LogLevel.Information, Message = "Complaint ({FeedbackType}) about Batch {BatchId}")]
    private static partial void LogComplaint(ILogger logger, string batchId, string feedbackType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Complaint ({FeedbackType}, Message-ID {MessageId}) names no return path we signed: accepted, nothing recorded")]
    private static partial void LogComplaintUnsigned(ILogger logger, string feedbackType, string messageId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Mail to the feedback address is not an ARF feedback report: accepted, nothing recorded")]
    private static partial void LogNotAComplaint(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused an unreadable message of {Bytes} bytes: {Reason}")]
    private static partial void LogUnreadable(ILogger logger, int bytes, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not publish a report, answering 451 so the sender retries: {Reason}")]
    private static partial void LogPublishFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reading a report failed, answering 451 so the sender retries")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
