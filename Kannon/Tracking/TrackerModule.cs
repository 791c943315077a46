using Kannon.Data;
using Kannon.Hosting.Configuration;
using Kannon.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Kannon.Tracking;

internal static class TrackerModule
{
    public static IHostApplicationBuilder AddTracker(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<TrackerOptions>(builder.Configuration, TrackerOptions.Section);
        builder.AddDatabase();     // the stats_keys that verify tokens
        builder.AddMessaging();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<TrackingKeyRing>();
        builder.Services.TryAddSingleton<TrackingTokens>();
        builder.Services.TryAddSingleton<TrackerMetrics>();
        builder.Services.TryAddSingleton<TrackerQueue>();
        builder.Services.AddHostedService<TrackerWorker>();   // drains TrackerQueue into JetStream
        return builder;
    }
}
