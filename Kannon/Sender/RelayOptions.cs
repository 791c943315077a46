namespace Kannon.Sender;

/// <summary>A smarthost: when set, every message goes there instead of the recipient's MX.</summary>
internal sealed class RelayOptions
{
    public string? Host { get; set; }

    public int Port { get; set; } = 587;

    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary><c>starttls</c> (required), <c>implicit</c> (TLS from the first byte), <c>opportunistic</c> or <c>none</c>.</summary>
    public string Tls { get; set; } = "starttls";
}
