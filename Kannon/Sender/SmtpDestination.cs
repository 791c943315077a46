using System.Net;
using MailKit.Security;

namespace Kannon.Sender;

/// <summary>One SMTP server as the pool knows it: connections to the same host and port are shared.</summary>
internal sealed record SmtpDestination(string Host, int Port, SecureSocketOptions Tls, bool ValidateCertificate, NetworkCredential? Credentials = null)
{
    public string Key { get; } = $"{Host}:{Port}";
}
