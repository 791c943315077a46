namespace Kannon.Tests.Infrastructure;

/// <summary>One message as the recording SMTP server took it: envelope, exact DATA bytes, whether over TLS.</summary>
internal sealed record ReceivedMessage(string From, IReadOnlyList<string> To, byte[] Raw, bool Secure);
