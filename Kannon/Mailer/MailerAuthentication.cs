using Grpc.Core;

namespace Kannon.Mailer;

/// <summary>Where the Mailer service finds the Domain the API-key interceptor authenticated.</summary>
internal static class MailerAuthentication
{
    public static string DomainOf(ServerCallContext context) =>
        context.GetHttpContext().Items["kannon.domain"] as string
        ?? throw new RpcException(new Status(StatusCode.Unauthenticated, "invalid or wrong auth"));
}
