namespace Kannon.Tracking;

/// <summary>What a verified tracking token says: which Delivery, on which channel, and for links where to go.</summary>
internal sealed record TrackingClaims(string BatchId, string Email, string Audience, string? Url, DateTimeOffset ExpiresAt);
