using Kannon.Data;
using Kannon.Envelopes;
using Kannon.Hosting.Configuration;
using Kannon.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmtpServiceProvider = SmtpServer.ComponentModel.ServiceProvider;

namespace Kannon.Smtp;

internal static partial class SmtpModule
{
    public static IHostApplicationBuilder AddSmtp(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<SmtpOptions>(builder.Configuration, SmtpOptions.Section);
        builder.AddDatabase();     // which domains are ours
        builder.AddMessaging();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddReturnPaths(builder.Configuration);
        builder.Services.TryAddSingleton<SendingDomains>();
        builder.Services.TryAddSingleton<BounceMailboxFilter>();
        builder.Services.TryAddSingleton<BounceMessageStore>();
        builder.Services.TryAddSingleton<SmtpListener>();
        builder.Services.TryAddSingleton(sp =>
        {
            var services = new SmtpServiceProvider();
            services.Add(sp.GetRequiredService<BounceMailboxFilter>());
            services.Add(sp.GetRequiredService<BounceMessageStore>());
            services.Add(sp.GetRequiredService<SmtpListener>());
            var server = new SmtpServer.SmtpServer(sp.GetRequiredService<IOptions<SmtpOptions>>().Value.ServerOptions(), services);
            var logger = sp.GetRequiredService<ILogger<SmtpServer.SmtpServer>>();
            server.SessionFaulted += (_, e) => LogSessionFaulted(logger, e.Exception.GetType().Name, e.Exception.Message);
            return server;
        });
        builder.Services.AddHostedService<SmtpWorker>();
        return builder;
    }

    // Garbage, oversized lines and dropped connections end here: noise, not errors.
    [LoggerMessage(Level = LogLevel.Debug, Message = "SMTP session ended abnormally: {Kind}: {Reason}")]
    private static partial void LogSessionFaulted(ILogger logger, string kind, string reason);
}
