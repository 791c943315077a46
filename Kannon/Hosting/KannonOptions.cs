using Kannon.Hosting.Configuration;
using Microsoft.Extensions.Configuration;

namespace Kannon.Hosting;

/// <summary>The top-level keys: where the stores are, and where the embedded default keeps its data.</summary>
internal sealed class KannonOptions : IValidatedOptions
{
    public const string Section = "";

    /// <summary>PostgreSQL as a <c>postgres://</c> URL or an Npgsql connection string; unset = embedded.</summary>
    [ConfigurationKeyName("database_url")]
    public string? DatabaseUrl { get; set; }

    /// <summary>NATS server URL; unset = embedded.</summary>
    [ConfigurationKeyName("nats_url")]
    public string? NatsUrl { get; set; }

    /// <summary>
    /// How long JetStream waits for a Sender's answer to an Envelope before another Sender may take it. Every
    /// process declares the topology, so every process must have the same value.
    /// </summary>
    [ConfigurationKeyName("sender_ack_wait")]
    public TimeSpan SenderAckWait { get; set; } = Messaging.Topology.DefaultSenderAckWait;

    [ConfigurationKeyName("data_dir")]
    public string DataDir { get; set; } = "./.kannon";

    public bool Debug { get; set; }

    public bool EmbeddedDatabase => string.IsNullOrWhiteSpace(DatabaseUrl);

    public bool EmbeddedNats => string.IsNullOrWhiteSpace(NatsUrl);

    public IEnumerable<string> Validate()
    {
        if (!EmbeddedDatabase && !Data.PostgresUrl.TryToConnectionString(DatabaseUrl!, out _, out var error))
        {
            yield return $"database_url: {error}";
        }

        if (!EmbeddedNats && !Uri.TryCreate(NatsUrl!.Split(',')[0].Trim(), UriKind.Absolute, out _))
        {
            yield return $"nats_url: '{NatsUrl}' is not a URL (nats://host:4222)";
        }

        if (SenderAckWait < TimeSpan.FromSeconds(1))
        {
            yield return "sender_ack_wait: must be at least 1s";
        }

        if (string.IsNullOrWhiteSpace(DataDir))
        {
            yield return "data_dir: must not be empty";
        }
    }
}
