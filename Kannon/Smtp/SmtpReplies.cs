using SmtpServer.Protocol;

namespace Kannon.Smtp;

/// <summary>The inbound server's own answers, as values.</summary>
internal static class SmtpReplies
{
    public static readonly SmtpResponse Accepted = new(SmtpReplyCode.Ok, "2.0.0 report received");

    public static readonly SmtpResponse NoSuchMailbox = new(SmtpReplyCode.MailboxUnavailable, "5.1.1 no such mailbox here");

    public static readonly SmtpResponse TooManyRecipients = new((SmtpReplyCode)452, "4.5.3 too many recipients");

    public static readonly SmtpResponse TryAgainLater = new((SmtpReplyCode)451, "4.3.0 temporary failure, try again later");

    public static readonly SmtpResponse Unreadable = new(SmtpReplyCode.TransactionFailed, "5.6.0 message could not be read");
}
