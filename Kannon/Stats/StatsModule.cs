using Kannon.Data;
using Kannon.Hosting.Configuration;
using Kannon.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Kannon.Stats;

internal static class StatsModule
{
    /// <summary>The Stats role: outcome events into <c>stats</c> and <c>aggregated_stats</c>, and their retention. The Stats APIs are the Api role's.</summary>
    public static IHostApplicationBuilder AddStats(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<StatsOptions>(builder.Configuration, StatsOptions.Section);
        builder.AddDatabase();
        builder.AddMessaging();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<StatsMetrics>();
        builder.Services.AddSingleton<StatsRecorder>();
        builder.Services.AddSingleton<StatsRetention>();
        builder.Services.AddHostedService<StatsWorker>();
        builder.Services.AddSingleton<BounceEvidence>();
        builder.Services.AddHostedService<BounceEvidenceWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<StatsRetention>());
        return builder;
    }
}
