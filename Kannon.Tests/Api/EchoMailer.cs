using Grpc.Core;
using Kannon.Api;
using Kannon.Protos.Mailer.ApiV1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace Kannon.Tests.Api;

/// <summary>
/// A stand-in Mailer for authentication tests: it answers with whom the authenticator let through
/// (message_id = Domain, template_id = key id). Mapped ahead of any real Mailer the host has.
/// </summary>
internal sealed class EchoMailer : Kannon.Protos.Mailer.ApiV1.Mailer.MailerBase
{
    public override Task<SendRes> SendHTML(SendHTMLReq request, ServerCallContext context) => Echo(context);

    public override Task<SendRes> SendTemplate(SendTemplateReq request, ServerCallContext context) => Echo(context);

    public static void Map(WebApplication app) =>
        app.MapGrpcService<EchoMailer>().Add(endpoint => ((RouteEndpointBuilder)endpoint).Order = -1);

    private static Task<SendRes> Echo(ServerCallContext context)
    {
        var sender = context.GetAuthenticatedSender();
        return Task.FromResult(new SendRes { MessageId = sender.Domain, TemplateId = sender.KeyId });
    }
}
