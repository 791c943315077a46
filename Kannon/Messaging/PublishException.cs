namespace Kannon.Messaging;

/// <summary>JetStream did not store a publish (stream full, NATS down, timeout): the caller keeps the work and retries later.</summary>
internal sealed class PublishException(string subject, string reason, Exception? inner = null)
    : Exception($"publish to {subject} failed: {reason}", inner)
{
    public string Subject { get; } = subject;
}
