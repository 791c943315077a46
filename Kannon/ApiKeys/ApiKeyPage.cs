namespace Kannon.ApiKeys;

internal sealed record ApiKeyPage(IReadOnlyList<ApiKey> Keys, int Total);
