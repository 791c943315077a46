using Kannon.Hosting.Configuration;
using Kannon.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Kannon.Sender;

internal static class SenderModule
{
    public static IHostApplicationBuilder AddSender(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<SenderOptions>(builder.Configuration, SenderOptions.Section);
        // Never the database: NATS in, SMTP out, NATS out (docs/adr).
        builder.AddMessaging();
        builder.Services.AddHostedService<SenderWorker>();
        return builder;
    }
}
