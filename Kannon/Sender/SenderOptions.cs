using Kannon.Hosting.Configuration;
using Microsoft.Extensions.Configuration;

namespace Kannon.Sender;

internal sealed class SenderOptions : IValidatedOptions
{
    public const string Section = "sender";

    /// <summary>EHLO name and Message-ID host.</summary>
    public string Hostname { get; set; } = Environment.MachineName;

    /// <summary>Parallel SMTP transactions in this process.</summary>
    [ConfigurationKeyName("max_jobs")]
    public int MaxJobs { get; set; } = 10;

    /// <summary>No network: addresses containing "error" bounce, every other one is delivered.</summary>
    [ConfigurationKeyName("demo_sender")]
    public bool DemoSender { get; set; }

    /// <summary>Destination SMTP port on the recipient's MX.</summary>
    public int Port { get; set; } = 25;

    /// <summary><c>host:port</c> resolvers for MX lookups; empty = the system's.</summary>
    [ConfigurationKeyName("dns_servers")]
    public List<string> DnsServers { get; set; } = [];

    public RelayOptions Relay { get; set; } = new();

    /// <summary>Refuse to deliver over a connection without TLS.</summary>
    [ConfigurationKeyName("require_tls")]
    public bool RequireTls { get; set; }

    [ConfigurationKeyName("connect_timeout")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Bound on one whole SMTP transaction; the stream's ack wait is set well above it.</summary>
    [ConfigurationKeyName("transaction_timeout")]
    public TimeSpan TransactionTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Messages sent over one SMTP connection before it is closed and a new one opened.</summary>
    [ConfigurationKeyName("messages_per_connection")]
    public int MessagesPerConnection { get; set; } = 100;

    /// <summary>Open SMTP connections to one MX host:port at most (Postfix's default destination concurrency).</summary>
    [ConfigurationKeyName("max_connections_per_host")]
    public int MaxConnectionsPerHost { get; set; } = 20;

    /// <summary>An unused pooled connection is closed (QUIT) after this long.</summary>
    [ConfigurationKeyName("connection_idle_timeout")]
    public TimeSpan ConnectionIdleTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>On shutdown, how long transactions in flight may take to finish before they are abandoned (and redelivered).</summary>
    [ConfigurationKeyName("drain_timeout")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Hostname))
        {
            yield return "sender.hostname: must not be empty";
        }

        if (MaxJobs is < 1 or > 10_000)
        {
            yield return $"sender.max_jobs: {MaxJobs} is out of range (1-10000)";
        }

        if (Port is < 1 or > 65535)
        {
            yield return $"sender.port: {Port} is not a TCP port (1-65535)";
        }

        foreach (var server in DnsServers)
        {
            if (!System.Net.IPEndPoint.TryParse(server, out _))
            {
                yield return $"sender.dns_servers: '{server}' is not host:port with an IP address";
            }
        }

        if (!string.IsNullOrWhiteSpace(Relay.Host))
        {
            if (Relay.Port is < 1 or > 65535)
            {
                yield return $"sender.relay.port: {Relay.Port} is not a TCP port";
            }

            if (Relay.Tls is not ("starttls" or "implicit" or "opportunistic" or "none"))
            {
                yield return $"sender.relay.tls: '{Relay.Tls}' is not one of starttls, implicit, opportunistic, none";
            }
        }

        if (ConnectTimeout <= TimeSpan.Zero)
        {
            yield return "sender.connect_timeout: must be positive";
        }

        if (TransactionTimeout <= TimeSpan.Zero)
        {
            yield return "sender.transaction_timeout: must be positive";
        }

        if (MessagesPerConnection < 1)
        {
            yield return "sender.messages_per_connection: must be at least 1";
        }

        if (MaxConnectionsPerHost is < 1 or > 1_000)
        {
            yield return $"sender.max_connections_per_host: {MaxConnectionsPerHost} is out of range (1-1000)";
        }

        if (ConnectionIdleTimeout <= TimeSpan.Zero)
        {
            yield return "sender.connection_idle_timeout: must be positive";
        }

        if (DrainTimeout < TimeSpan.Zero)
        {
            yield return "sender.drain_timeout: must not be negative";
        }
    }
}
