using MailKit.Net.Smtp;
using MimeKit;

namespace Kannon.Sender;

/// <summary>
/// MailKit's client, told to leave the message alone: the Dispatcher signed it (DKIM), so
/// <see cref="Prepare"/> must not re-encode a part, and the size (SIZE=, BDAT) is the exact byte count we
/// checked. It prefers BDAT (RFC 3030 CHUNKING) where offered: one round trip less per message, no
/// dot-stuffing. It also notes whether the server accepted MAIL FROM, which tells a dead pooled
/// connection (nothing sent, safe to try again on a fresh one) from a failure during the transaction.
/// </summary>
internal sealed class RawSmtpClient : SmtpClient
{
    private long _size = -1;

    public DateTimeOffset LastUsed { get; set; }

    public int Transactions { get; set; }

    public bool SenderAccepted { get; private set; }

    protected override bool PreferSendAsBinaryData => true;

    /// <param name="size">The exact number of bytes MimeKit writes for the message (BDAT depends on it).</param>
    public void BeginTransaction(long size)
    {
        _size = size;
        SenderAccepted = false;
        Transactions++;
    }

    protected override void Prepare(FormatOptions options, MimeMessage message, EncodingConstraint constraint, int maxLineLength)
    {
    }

    protected override long GetSize(FormatOptions options, MimeMessage message, CancellationToken cancellationToken) =>
        _size >= 0 ? _size : base.GetSize(options, message, cancellationToken);

    protected override void OnSenderAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response) =>
        SenderAccepted = true;
}
