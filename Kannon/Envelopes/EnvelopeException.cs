namespace Kannon.Envelopes;

/// <summary>A Delivery whose Envelope cannot be built from its data (template, address, DKIM key): retrying
/// the same data fails the same way, so the Dispatcher spends its retry budget or fails it.</summary>
internal sealed class EnvelopeException(string message, Exception? inner = null) : Exception(message, inner);
