namespace Kannon.ApiKeys;

/// <summary>A new key and its plaintext, which exists only in this value and the response that carries it.</summary>
internal sealed record CreatedApiKey(ApiKey Key, string Plaintext);
