using System.Net;
using Kannon.Api;
using Kannon.Dispatcher;
using Kannon.Hosting.Configuration;
using Kannon.Hosting.Embedded;
using Kannon.Sender;
using Kannon.Smtp;
using Kannon.Stats;
using Kannon.Tracking;
using Kannon.Validator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Kannon.Hosting;

/// <summary>Assembles one process: the defaults every process has, then one module per role given.</summary>
internal static class KannonHost
{
    public static WebApplication Build(IConfiguration configuration, Roles roles, Action<IServiceCollection>? configureServices = null)
    {
        DurationConverter.Register();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "kannon",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(configuration);
        builder.Host.UseDefaultServiceProvider(o =>
        {
            o.ValidateOnBuild = true;
            o.ValidateScopes = true;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(60));
        builder.Logging.SetMinimumLevel(configuration.GetValue<bool>("debug") ? LogLevel.Debug : LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // Grpc.AspNetCore logs every refused call (with a stack trace) at Information: hostile traffic would flood the log.
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning);
        builder.Logging.AddFilter("NATS", LogLevel.Warning);
        builder.Logging.AddFilter("Npgsql", LogLevel.Warning);
        // log_format: json for log shippers (one JSON object per line, trace ids included), else readable text with scopes.
        if (string.Equals(configuration["log_format"], "json", StringComparison.OrdinalIgnoreCase))
        {
            builder.Logging.ClearProviders().AddJsonConsole(o => o.IncludeScopes = true);
        }
        else
        {
            builder.Logging.ClearProviders().AddSimpleConsole(o => o.IncludeScopes = true);
        }

        builder.Services.AddSingleton(roles);
        builder.Services.AddValidatedOptions<KannonOptions>(configuration, KannonOptions.Section);
        builder.Services.AddValidatedOptions<HttpOptions>(configuration, HttpOptions.Section)
            .PostConfigure(o => HttpOptions.ApplyAliases(o, configuration));
        builder.Services.AddHealthChecks();
        builder.AddKannonTelemetry(roles);

        var kannon = configuration.Get<KannonOptions>() ?? new KannonOptions();
        if (roles.Any && ((roles.NeedsDatabase && kannon.EmbeddedDatabase) || kannon.EmbeddedNats))
        {
            // Registered before every module: hosted services start in order and stop in reverse.
            builder.Services.AddSingleton<EmbeddedServers>();
            builder.Services.AddHostedService<EmbeddedServersService>();
            if (kannon.EmbeddedDatabase)
            {
                Data.DatabaseModule.AddDatabase(builder);
            }
        }

        if (roles.Api) builder.AddApi();
        if (roles.Validator) builder.AddValidator();
        if (roles.Dispatcher) builder.AddDispatcher();
        if (roles.Sender) builder.AddSender();    // NATS in, SMTP out, NATS out: never the database
        if (roles.Stats) builder.AddStats();
        if (roles.Tracker) builder.AddTracker();
        if (roles.Smtp) builder.AddSmtp();

        configureServices?.Invoke(builder.Services);
        ConfigureKestrel(builder, configuration, roles);

        var app = builder.Build();
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        app.MapKannonTelemetry();
        if (roles.Api) app.MapApi();
        if (roles.Tracker) app.MapTracker();
        return app;
    }

    private static void ConfigureKestrel(WebApplicationBuilder builder, IConfiguration configuration, Roles roles)
    {
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var http = kestrel.ApplicationServices.GetRequiredService<IOptions<HttpOptions>>().Value;
            kestrel.Listen(IPAddress.Parse(http.Address), http.Port, o => o.Protocols = HttpProtocols.Http1);
            if (roles.Api)
            {
                var api = kestrel.ApplicationServices.GetRequiredService<IOptions<ApiOptions>>().Value;
                // gRPC over cleartext HTTP/2 (h2c), as the original's clients expect.
                kestrel.Listen(IPAddress.Parse(api.Address), api.Port, o => o.Protocols = HttpProtocols.Http2);
                kestrel.Limits.MaxRequestBodySize = api.MaxRequestBytes;
            }
        });
    }
}
