using Kannon.Tracking;

namespace Kannon.Domains;

/// <summary>
/// A Domain as the Admin API shows it: its name, tracking ceiling, the DNS <c>p=</c> value of its signing key,
/// and its unsubscribe setting (<see cref="UnsubscribeMode"/>).
/// </summary>
internal sealed record DomainDetails(string Name, TrackingPolicy Tracking, string DkimPublicKey, string Unsubscribe);
