using Kannon.Data;
using Kannon.Hosting.Configuration;
using Kannon.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Kannon.Stats;

internal static class StatsModule
{
    public static IHostApplicationBuilder AddStats(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<StatsOptions>(builder.Configuration, StatsOptions.Section);
        builder.AddDatabase();
        builder.AddMessaging();
        builder.Services.AddHostedService<StatsWorker>();
        return builder;
    }
}
