using System.Net;
using System.Text;
using Kannon.Tests.Smtp;

namespace Kannon.Tests.Suppression;

/// <summary>One report sent the way a remote MTA sends it (null sender, one RCPT), keeping every reply as text so two sessions can be compared.</summary>
internal static class ReportSession
{
    /// <summary>The reply to the end of DATA (or the first reply that was not the expected one).</summary>
    public static async Task<string> SendAsync(IPEndPoint server, string rcpt, string raw)
    {
        await using var session = await RawSmtpSession.ConnectAsync(server);
        await session.CommandAsync("EHLO mx.example.net");
        var mail = await session.CommandAsync("MAIL FROM:<>");
        if (!mail.StartsWith("250", StringComparison.Ordinal))
        {
            return mail;
        }

        var rcptReply = await session.CommandAsync($"RCPT TO:<{rcpt}>");
        if (!rcptReply.StartsWith("250", StringComparison.Ordinal))
        {
            return rcptReply;
        }

        var data = await session.CommandAsync("DATA");
        if (!data.StartsWith("354", StringComparison.Ordinal))
        {
            return data;
        }

        // Dot-stuffing (RFC 5321 §4.5.2), then the end-of-data line.
        var lines = raw.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n').Split('\n')
            .Select(l => l.StartsWith('.') ? "." + l : l);
        await session.WriteAsync(Encoding.UTF8.GetBytes(string.Join("\r\n", lines) + "\r\n.\r\n"));
        var reply = await session.ReplyAsync();
        await session.CommandAsync("QUIT");
        return reply;
    }
}
