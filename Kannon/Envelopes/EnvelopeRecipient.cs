using Kannon.Tracking;

namespace Kannon.Envelopes;

/// <summary>One Delivery's part of an Envelope.</summary>
internal sealed record EnvelopeRecipient
{
    public required string Email { get; init; }

    public IReadOnlyDictionary<string, string> Fields { get; init; } = new Dictionary<string, string>();

    /// <summary>The Delivery's frozen policy; an axis <c>off</c> gets no pixel / no link rewrite.</summary>
    public TrackingPolicy Tracking { get; init; } = TrackingPolicy.Default;

    /// <summary>The resolved one-click unsubscribe URL (https), or null for none.</summary>
    public string? UnsubscribeUrl { get; init; }
}
