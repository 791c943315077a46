using Kannon.Data;
using Kannon.Hosting.Configuration;
using Kannon.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Kannon.Smtp;

internal static class SmtpModule
{
    public static IHostApplicationBuilder AddSmtp(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<SmtpOptions>(builder.Configuration, SmtpOptions.Section);
        builder.AddDatabase();
        builder.AddMessaging();
        builder.Services.AddHostedService<SmtpWorker>();
        return builder;
    }
}
