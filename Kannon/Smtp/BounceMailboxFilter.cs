using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Kannon.Smtp;

/// <summary>
/// RCPT policy: the inbound server takes mail only for return paths of a known sending domain and for the
/// feedback address (<c>smtp.feedback_address</c>, ARF complaints), and at most
/// <c>smtp.max_recipients</c> RCPTs per transaction. Anything else is refused at RCPT (550 5.1.1), so
/// it is never an open relay and never stores mail for nobody. Any sender is accepted: DSNs come from <c>&lt;&gt;</c>.
/// A return path's MAC is not checked here: a forged one gets the same replies as a real one (ADR 0011).
/// </summary>
internal sealed partial class BounceMailboxFilter(SendingDomains domains, IOptions<SmtpOptions> options, ILogger<BounceMailboxFilter> logger)
    : IMailboxFilter
{
    private const string RecipientCount = "kannon.rcpt_count";

    public Task<bool> CanAcceptFromAsync(ISessionContext context, IMailbox from, int size, CancellationToken cancellationToken)
    {
        context.Properties[RecipientCount] = 0;
        return Task.FromResult(true);
    }

    public async Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from, CancellationToken cancellationToken)
    {
        var count = context.Properties.TryGetValue(RecipientCount, out var value) && value is int n ? n : 0;
        if (count >= options.Value.MaxRecipients)
        {
            throw new SmtpResponseException(SmtpReplies.TooManyRecipients);
        }

        context.Properties[RecipientCount] = count + 1;
        if (IsFeedbackAddress(to, options.Value))
        {
            return true;
        }

        if (BounceAddress.Parse(to) is not { Domain: var domain })
        {
            throw new SmtpResponseException(SmtpReplies.NoSuchMailbox);
        }

        bool known;
        try
        {
            known = await domains.IsKnownAsync(domain, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            LogDomainLookupFailed(logger, domain, e.Message);
            throw new SmtpResponseException(SmtpReplies.TryAgainLater);
        }

        return known ? true : throw new SmtpResponseException(SmtpReplies.NoSuchMailbox);
    }

    public static bool IsFeedbackAddress(IMailbox to, SmtpOptions options) =>
        string.Equals($"{to.User}@{to.Host}", options.FeedbackMailbox, StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not check whether {Domain} is a sending domain, deferring the RCPT: {Reason}")]
    private static partial void LogDomainLookupFailed(ILogger logger, string domain, string reason);
}
