namespace Kannon.Api;

/// <summary>Who a Mailer call speaks for: the Domain of the API key it presented, and that key's id.</summary>
internal sealed record AuthenticatedSender(string Domain, string KeyId);
