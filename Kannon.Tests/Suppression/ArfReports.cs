using System.Text;

namespace Kannon.Tests.Suppression;

/// <summary>RFC 5965 abuse reports as a mailbox provider's feedback loop writes them, around a copy of the original message.</summary>
internal static class ArfReports
{
    /// <param name="returnPath">the Return-Path the receiving MTA stamped on the original; null when the provider stripped it</param>
    public static string Abuse(string feedbackAddress, byte[] original, string? returnPath)
    {
        const string boundary = "arf-boundary-0123456789";
        var text = new StringBuilder()
            .Append("From: Feedback Loop <fbl@fbl.example.net>\r\n")
            .Append($"To: {feedbackAddress}\r\n")
            .Append("Subject: FW: complaint about a message you sent\r\n")
            .Append($"Message-ID: <{Guid.NewGuid():N}@fbl.example.net>\r\n")
            .Append("Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n")
            .Append("MIME-Version: 1.0\r\n")
            .Append($"Content-Type: multipart/report; report-type=feedback-report; boundary=\"{boundary}\"\r\n")
            .Append("\r\n")
            .Append($"--{boundary}\r\n")
            .Append("Content-Type: text/plain; charset=us-ascii\r\n")
            .Append("\r\n")
            .Append("This is an email abuse report for a message received from your IP.\r\n")
            .Append($"--{boundary}\r\n")
            .Append("Content-Type: message/feedback-report\r\n")
            .Append("\r\n")
            .Append("Feedback-Type: abuse\r\n")
            .Append("User-Agent: ExampleFBL/1.0\r\n")
            .Append("Version: 1\r\n")
            .Append("Reporting-MTA: dns; fbl.example.net\r\n")
            .Append("Original-Rcpt-To: <redacted@inbox.example>\r\n")
            .Append("\r\n")
            .Append($"--{boundary}\r\n")
            .Append("Content-Type: message/rfc822\r\n")
            .Append("\r\n");
        if (returnPath is not null)
        {
            text.Append($"Return-Path: <{returnPath}>\r\n");
        }

        return text
            .Append(Encoding.UTF8.GetString(original).TrimEnd('\r', '\n'))
            .Append("\r\n")
            .Append($"--{boundary}--\r\n")
            .ToString();
    }
}
