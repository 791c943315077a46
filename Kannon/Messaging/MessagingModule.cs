using Kannon.Hosting;
using Kannon.Hosting.Embedded;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Kannon.Messaging;

internal static class MessagingModule
{
    /// <summary>One NATS connection per process, its JetStream context, and the topology. Safe to call from several modules.</summary>
    public static IHostApplicationBuilder AddMessaging(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<KannonOptions>>().Value;
            var url = options.EmbeddedNats ? sp.GetRequiredService<EmbeddedServers>().Nats!.Url : options.NatsUrl!;
            return new NatsConnection(NatsOpts.Default with
            {
                Url = url,
                Name = $"kannon[{sp.GetRequiredService<Roles>()}]",
                // Keep reconnecting for as long as the process lives: NATS restarts are routine.
                MaxReconnectRetry = -1,
                ReconnectWaitMin = TimeSpan.FromMilliseconds(200),
                ReconnectWaitMax = TimeSpan.FromSeconds(5),
                ConnectTimeout = TimeSpan.FromSeconds(5),
                RequestTimeout = TimeSpan.FromSeconds(10),
                CommandTimeout = TimeSpan.FromSeconds(10),
                LoggerFactory = sp.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>(),
            });
        });
        services.TryAddSingleton<INatsConnection>(sp => sp.GetRequiredService<NatsConnection>());
        services.TryAddSingleton<INatsJSContext>(sp => new NatsJSContext(sp.GetRequiredService<NatsConnection>()));
        services.TryAddSingleton<TopologyProvisioner>();
        services.TryAddSingleton<EventPublisher>();
        if (!services.Any(d => d.ServiceType == typeof(NatsHealthCheck)))
        {
            services.AddSingleton<NatsHealthCheck>();
            services.AddHealthChecks().AddCheck<NatsHealthCheck>("nats", tags: ["ready"]);
        }
        return builder;
    }
}
