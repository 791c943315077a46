using System.Net;
using Kannon.Hosting.Configuration;
using Microsoft.Extensions.Configuration;
using SmtpServer;

namespace Kannon.Smtp;

/// <summary>The inbound SMTP server that receives bounces.</summary>
internal sealed class SmtpOptions : IValidatedOptions
{
    public const string Section = "smtp";

    /// <summary><c>host:port</c> or <c>:port</c> (all interfaces).</summary>
    public string Address { get; set; } = ":25";

    /// <summary>The name the server greets with.</summary>
    public string Domain { get; set; } = "localhost";

    [ConfigurationKeyName("read_timeout")]
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(10);

    [ConfigurationKeyName("write_timeout")]
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(10);

    [ConfigurationKeyName("max_payload")]
    public int MaxPayload { get; set; } = 1024 * 1024;

    [ConfigurationKeyName("max_recipients")]
    public int MaxRecipients { get; set; } = 50;

    /// <summary>Where mailbox providers send ARF complaints (their feedback loop); empty = <c>fbl@&lt;domain&gt;</c>.</summary>
    [ConfigurationKeyName("feedback_address")]
    public string FeedbackAddress { get; set; } = "";

    /// <summary>The feedback address in effect.</summary>
    internal string FeedbackMailbox => string.IsNullOrWhiteSpace(FeedbackAddress) ? $"fbl@{Domain}" : FeedbackAddress.Trim();

    public IEnumerable<string> Validate()
    {
        if (FeedbackMailbox.IndexOf('@', StringComparison.Ordinal) is <= 0 || FeedbackMailbox.EndsWith('@'))
        {
            yield return $"smtp.feedback_address: '{FeedbackAddress}' is not an address";
        }

        if (!TryParseAddress(Address, out _, out _))
        {
            yield return $"smtp.address: '{Address}' is not host:port or :port";
        }

        if (string.IsNullOrWhiteSpace(Domain))
        {
            yield return "smtp.domain: must not be empty";
        }

        if (ReadTimeout <= TimeSpan.Zero)
        {
            yield return "smtp.read_timeout: must be positive";
        }

        if (WriteTimeout <= TimeSpan.Zero)
        {
            yield return "smtp.write_timeout: must be positive";
        }

        if (MaxPayload < 1024)
        {
            yield return $"smtp.max_payload: {MaxPayload} is too small (at least 1024 bytes)";
        }

        if (MaxRecipients < 1)
        {
            yield return $"smtp.max_recipients: {MaxRecipients} must be at least 1";
        }
    }

    /// <summary>
    /// SmtpServer's options: SIZE advertised and enforced (552, then the session ends) at <see cref="MaxPayload"/>
    /// (the limit also bounds a command line); <see cref="ReadTimeout"/> waiting for each command. SmtpServer
    /// has no per-write timeout: <see cref="WriteTimeout"/> bounds the whole session together with
    /// the read timeout (<see cref="SessionTimeout"/>).
    /// </summary>
    internal ISmtpServerOptions ServerOptions()
    {
        TryParseAddress(Address, out var host, out var port);
        var address = IPAddress.TryParse(host, out var ip) ? ip : Dns.GetHostAddresses(host)[0];
        return new SmtpServerOptionsBuilder()
            .ServerName(Domain)
            .MaxMessageSize(MaxPayload, MaxMessageSizeHandling.Strict)
            .MaxRetryCount(5)
            .CommandWaitTimeout(ReadTimeout)
            .Endpoint(e => e.Endpoint(new IPEndPoint(address, port)).SessionTimeout(SessionTimeout))
            .Build();
    }

    /// <summary>The longest a session may last: enough for a slow peer to send a full-size report.</summary>
    internal TimeSpan SessionTimeout => TimeSpan.FromTicks(Math.Max(TimeSpan.FromMinutes(5).Ticks, 10 * (ReadTimeout + WriteTimeout).Ticks));

    internal static bool TryParseAddress(string address, out string host, out int port)
    {
        host = "0.0.0.0";
        port = 0;
        var colon = address.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(address.AsSpan(colon + 1), out port) || port is < 0 or > 65535)
        {
            return false;
        }

        var hostPart = address[..colon].Trim('[', ']');
        if (hostPart.Length > 0)
        {
            host = hostPart;
        }

        return true;
    }
}
