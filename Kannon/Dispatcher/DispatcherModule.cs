using Kannon.Data;
using Kannon.Hosting.Configuration;
using Kannon.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Kannon.Dispatcher;

internal static class DispatcherModule
{
    public static IHostApplicationBuilder AddDispatcher(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<DispatcherOptions>(builder.Configuration, DispatcherOptions.Section);
        builder.AddDatabase();
        builder.AddMessaging();
        builder.Services.AddHostedService<DispatcherWorker>();
        return builder;
    }
}
