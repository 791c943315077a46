namespace Kannon.Suppression;

/// <summary>One page of a Domain's suppressions and how many match in all.</summary>
internal sealed record SuppressionPage(IReadOnlyList<SuppressedAddress> Suppressions, int Total);
