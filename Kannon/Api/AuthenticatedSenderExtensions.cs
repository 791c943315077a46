using Grpc.Core;

namespace Kannon.Api;

internal static class AuthenticatedSenderExtensions
{
    /// <summary>
    /// The Domain and key the <see cref="ApiKeyAuthenticator"/> accepted for this Mailer call. Throws when there is
    /// none: a Mailer method is never reached unauthenticated, so that would be a wiring fault, not a client error.
    /// </summary>
    public static AuthenticatedSender GetAuthenticatedSender(this ServerCallContext context) =>
        context.UserState.TryGetValue(typeof(AuthenticatedSender), out var sender) && sender is AuthenticatedSender authenticated
            ? authenticated
            : throw new InvalidOperationException($"{context.Method} ran without an authenticated sender: is {nameof(ApiKeyAuthenticator)} registered?");

    internal static void SetAuthenticatedSender(this ServerCallContext context, AuthenticatedSender sender) =>
        context.UserState[typeof(AuthenticatedSender)] = sender;
}
