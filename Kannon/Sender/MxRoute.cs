namespace Kannon.Sender;

/// <summary>
/// Where mail for a domain goes: MX hosts in the order to try them, or the outcome when the domain
/// cannot receive mail (no such domain, null MX) or its DNS cannot be read right now.
/// </summary>
internal sealed record MxRoute(IReadOnlyList<string> Hosts, SendOutcome? Failure)
{
    public static MxRoute To(IReadOnlyList<string> hosts) => new(hosts, null);

    public static MxRoute Fails(SendOutcome failure) => new([], failure);
}
