using Kannon.Data;
using Kannon.Envelopes;
using Kannon.Hosting.Configuration;
using Kannon.Messaging;
using Kannon.Pool;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Kannon.Dispatcher;

internal static class DispatcherModule
{
    public static IHostApplicationBuilder AddDispatcher(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<DispatcherOptions>(builder.Configuration, DispatcherOptions.Section);
        builder.AddDatabase();
        builder.AddMessaging();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<DispatchPool>();
        builder.Services.TryAddSingleton<BatchContentCache>();
        builder.Services.TryAddSingleton<EnvelopeAssembler>();
        builder.Services.AddValidatedOptions<Tracking.TrackerOptions>(builder.Configuration, Tracking.TrackerOptions.Section);
        builder.Services.TryAddSingleton<Templates.TemplateRenderer>();
        builder.Services.TryAddSingleton<Tracking.TrackingKeyRing>();
        builder.Services.TryAddSingleton<Tracking.TrackingTokens>();
        builder.Services.TryAddSingleton<Dkim.DkimSigners>();
        builder.Services.AddReturnPaths(builder.Configuration);
        builder.Services.TryAddSingleton<Envelopes.EnvelopeBuilder>();
        builder.Services.TryAddTransient<PoolSignal>();
        builder.Services.AddSingleton<OutcomeWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OutcomeWorker>());
        builder.Services.AddHostedService<DispatcherWorker>();
        builder.Services.TryAddSingleton<Suppression.SuppressionList>();
        builder.Services.AddHostedService<SuppressionWorker>();
        builder.Services.AddHostedService<QueueGauges>();
        return builder;
    }
}
