using Kannon.Envelopes;
using SmtpServer.Mail;

namespace Kannon.Smtp;

/// <summary>
/// An RCPT address of the inbound server read as a return path, <c>bump_&lt;base64url recipient&gt;+msg_…@&lt;domain&gt;</c>
/// (<see cref="EnvelopeIds.ReturnPath"/>): which recipient of which Batch the report is about.
/// </summary>
internal static class BounceAddress
{
    public static bool TryParse(IMailbox mailbox, out string recipient, out string batchId, out string domain)
    {
        recipient = batchId = domain = "";
        if (string.IsNullOrEmpty(mailbox.User) || string.IsNullOrEmpty(mailbox.Host))
        {
            return false;
        }

        // Domains are case-insensitive and stored lower-case; the local part (base64) is case-sensitive.
        var address = $"{mailbox.User}@{mailbox.Host.ToLowerInvariant()}";
        if (!EnvelopeIds.TryParseReturnPath(address, out recipient, out batchId)
            || !batchId.StartsWith("msg_", StringComparison.Ordinal)
            || !recipient.Contains('@', StringComparison.Ordinal)
            || recipient.Any(char.IsControl)
            || EnvelopeIds.DomainOfBatch(batchId) is not { } batchDomain)
        {
            recipient = batchId = "";
            return false;
        }

        domain = batchDomain;
        return true;
    }
}
