using Kannon.Tracking;

namespace Kannon.Domains;

/// <summary>A Domain as the Admin API shows it: its name, tracking ceiling and the DNS <c>p=</c> value of its signing key.</summary>
internal sealed record DomainDetails(string Name, TrackingPolicy Tracking, string DkimPublicKey);
