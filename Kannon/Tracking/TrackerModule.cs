using Kannon.Data;
using Kannon.Hosting.Configuration;
using Kannon.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Kannon.Tracking;

internal static class TrackerModule
{
    public static IHostApplicationBuilder AddTracker(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<TrackerOptions>(builder.Configuration, TrackerOptions.Section);
        builder.AddDatabase();
        builder.AddMessaging();
        builder.Services.AddHostedService<TrackerWorker>();
        return builder;
    }
}
