using System.Text;

namespace Kannon.Tests.Smtp;

/// <summary>Reports as remote MTAs write them: RFC 3464 DSNs and the plain-text kind.</summary>
internal static class DeliveryReportMessages
{
    /// <summary>A multipart/report DSN about <paramref name="recipient"/> with one per-recipient block.</summary>
    public static string Dsn(string returnPath, string recipient, string action, string status, string? diagnostic, string? boundary = null)
    {
        boundary ??= "dsn-" + Guid.NewGuid().ToString("N");
        var text = new StringBuilder()
            .Append("From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n")
            .Append($"To: {returnPath}\r\n")
            .Append("Subject: Undelivered Mail Returned to Sender\r\n")
            .Append($"Message-ID: <{Guid.NewGuid():N}@mx.example.net>\r\n")
            .Append("Date: Mon, 02 Feb 2026 10:00:00 +0000\r\n")
            .Append("MIME-Version: 1.0\r\n")
            .Append($"Content-Type: multipart/report; report-type=delivery-status; boundary=\"{boundary}\"\r\n")
            .Append("\r\n")
            .Append("This is a MIME-encapsulated message.\r\n")
            .Append($"--{boundary}\r\n")
            .Append("Content-Type: text/plain; charset=us-ascii\r\n")
            .Append("\r\n")
            .Append("This is the mail system at host mx.example.net.\r\n")
            .Append("I'm sorry to have to inform you that your message could not\r\n")
            .Append("be delivered to one or more recipients.\r\n")
            .Append($"--{boundary}\r\n")
            .Append("Content-Type: message/delivery-status\r\n")
            .Append("\r\n")
            .Append("Reporting-MTA: dns; mx.example.net\r\n")
            .Append("Arrival-Date: Mon, 02 Feb 2026 09:59:58 +0000\r\n")
            .Append("\r\n")
            .Append($"Final-Recipient: rfc822; {recipient}\r\n")
            .Append($"Original-Recipient: rfc822;{recipient}\r\n")
            .Append($"Action: {action}\r\n")
            .Append($"Status: {status}\r\n")
            .Append("Remote-MTA: dns; mail.example.org\r\n");
        if (diagnostic is not null)
        {
            text.Append($"Diagnostic-Code: {diagnostic}\r\n");
        }

        return text
            .Append($"--{boundary}\r\n")
            .Append("Content-Type: text/rfc822-headers\r\n")
            .Append("\r\n")
            .Append("From: News <news@sender.example>\r\n")
            .Append($"To: {recipient}\r\n")
            .Append("Subject: Our news\r\n")
            .Append($"--{boundary}--\r\n")
            .ToString();
    }

    /// <summary>A bounce without a delivery-status part, the way some servers still write them.</summary>
    public static string PlainText(string returnPath, string body) =>
        "From: postmaster@old.example.net\r\n" +
        $"To: {returnPath}\r\n" +
        "Subject: failure notice\r\n" +
        $"Message-ID: <{Guid.NewGuid():N}@old.example.net>\r\n" +
        "\r\n" +
        body.Replace("\n", "\r\n", StringComparison.Ordinal) + "\r\n";

    public static byte[] Bytes(string message) => Encoding.UTF8.GetBytes(message);
}
