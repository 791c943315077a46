namespace Kannon.Envelopes;

internal sealed record EnvelopeAttachment(string Filename, byte[] Content);
