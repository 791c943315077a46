using Kannon.Envelopes;
using SmtpServer.Mail;

namespace Kannon.Smtp;

/// <summary>
/// An RCPT address of the inbound server read as a return path, <c>bump_&lt;base64url recipient&gt;.&lt;mac&gt;+msg_…@&lt;domain&gt;</c>
/// (<see cref="EnvelopeIds.ReturnPath"/>): which recipient of which Batch the report claims to be about. Only the
/// shape is checked here; whether we signed it is <see cref="ReturnPathSigner"/>'s question, asked after DATA so
/// a forged return path gets the same replies as a real one.
/// </summary>
internal sealed record BounceAddress(string Recipient, string BatchId, string Domain, string Mac)
{
    public static BounceAddress? Parse(IMailbox mailbox) =>
        string.IsNullOrEmpty(mailbox.User) || string.IsNullOrEmpty(mailbox.Host) ? null : Parse($"{mailbox.User}@{mailbox.Host}");

    /// <summary>A return path written as an address (<c>local@domain</c>), e.g. from a report's Return-Path header.</summary>
    public static BounceAddress? Parse(string address)
    {
        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1)
        {
            return null;
        }

        // Domains are case-insensitive and stored lower-case; the local part (base64) is case-sensitive.
        address = address[..at] + "@" + address[(at + 1)..].ToLowerInvariant();
        if (!EnvelopeIds.TryParseReturnPath(address, out var recipient, out var batchId, out var mac)
            || !batchId.StartsWith("msg_", StringComparison.Ordinal)
            || !recipient.Contains('@', StringComparison.Ordinal)
            || recipient.Any(char.IsControl)
            || EnvelopeIds.DomainOfBatch(batchId) is not { } batchDomain)
        {
            return null;
        }

        return new BounceAddress(recipient, batchId, batchDomain, mac);
    }

    public bool IsSignedBy(ReturnPathSigner signer) => signer.Verifies(Recipient, BatchId, Mac);
}
