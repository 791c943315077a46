using Kannon.Hosting.Configuration;
using Kannon.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Kannon.Sender;

internal static class SenderModule
{
    public static IHostApplicationBuilder AddSender(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<SenderOptions>(builder.Configuration, SenderOptions.Section);
        // Never the database: NATS in, SMTP out, NATS out (docs/adr/0002).
        builder.AddMessaging();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<SenderTestHooks>();
        builder.Services.AddSingleton<SenderMetrics>();
        builder.Services.AddSingleton<MxResolver>();
        builder.Services.AddSingleton<SmtpConnectionPool>();
        builder.Services.AddSingleton<SmtpDelivery>();
        builder.Services.AddSingleton<SendGuard>();
        builder.Services.AddSingleton<SenderWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SenderWorker>());
        builder.Services.AddHealthChecks().AddCheck<SenderHealthCheck>("sender", tags: ["ready"]);
        return builder;
    }
}
