namespace Kannon.Sender;

/// <summary>The send guard's bucket could not be read or written: the message waits rather than go out unguarded.</summary>
internal sealed class GuardUnavailableException(string reason, Exception? inner = null)
    : Exception($"send guard unavailable: {reason}", inner);
