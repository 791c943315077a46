using Grpc.AspNetCore.Server.Model;
using Kannon.Admin;
using Kannon.ApiKeys;
using Kannon.Data;
using Kannon.Domains;
using Kannon.Hosting.Configuration;
using Kannon.Stats;
using Kannon.Suppression;
using Kannon.Templates;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Kannon.Api;

internal static class ApiModule
{
    public static IHostApplicationBuilder AddApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<ApiOptions>(builder.Configuration, ApiOptions.Section);
        builder.AddDatabase();
        builder.Services.TryAddSingleton(TimeProvider.System);

        builder.Services.AddScoped<DomainRegistry>();
        builder.Services.AddScoped<TemplateStore>();
        builder.Services.AddScoped<ApiKeyStore>();
        builder.Services.TryAddSingleton<SuppressionList>();
        builder.Services.AddScoped<SuppressionStore>();
        builder.Services.AddSingleton<Mailer.BatchIntake>();
        builder.Services.AddSingleton<Mailer.IntakeRehearsal>();
        builder.Services.AddSingleton<StatsReader>();

        builder.Services.AddSingleton<StatusDetailLimitInterceptor>();
        builder.Services.AddSingleton<DatabaseUnavailableInterceptor>();
        builder.Services.AddSingleton<AdminTokenInterceptor>();
        builder.Services.AddScoped<ApiKeyAuthenticator>();
        builder.Services.AddSingleton<NulCharacterInterceptor>();

        var maxRequest = builder.Configuration.GetSection(ApiOptions.Section).Get<ApiOptions>()?.MaxRequestBytes ?? new ApiOptions().MaxRequestBytes;
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = maxRequest;
            o.EnableDetailedErrors = false;
            // In this order, outermost first: an unreachable database is UNAVAILABLE also while authenticating.
            o.Interceptors.Add<StatusDetailLimitInterceptor>();   // every refusal, whoever made it
            o.Interceptors.Add<DatabaseUnavailableInterceptor>();
            o.Interceptors.Add<AdminTokenInterceptor>();   // Admin, Stats, Suppression
            o.Interceptors.Add<ApiKeyAuthenticator>();     // Mailer
            o.Interceptors.Add<NulCharacterInterceptor>(); // every request: PostgreSQL stores no NUL
        });
        // Instead of Grpc.AspNetCore's own binder: the same binding, but a request that does not decode is
        // INVALID_ARGUMENT rather than UNKNOWN (ADR 0014).
        builder.Services.RemoveAll(typeof(IServiceMethodProvider<>));
        builder.Services.AddSingleton(typeof(IServiceMethodProvider<>), typeof(RequestDecodingServiceMethodProvider<>));
        builder.Services.AddGrpcReflection();
        builder.Services.AddGrpcHealthChecks();
        return builder;
    }

    public static WebApplication MapApi(this WebApplication app)
    {
        Mailer.IntakeWarmUp.Run();
        // Not a worker: once, in the background, as soon as the host has started (the database may still be coming up).
        var rehearsal = app.Services.GetRequiredService<Mailer.IntakeRehearsal>();
        app.Lifetime.ApplicationStarted.Register(() => _ = rehearsal.RunAsync(app.Lifetime.ApplicationStopping));
        app.MapGrpcService<Mailer.MailerService>();
        app.MapGrpcService<AdminApiService>();
        app.MapGrpcService<HzApiService>();
        app.MapGrpcService<StatsApiV1Service>();
        app.MapGrpcService<StatsApiV2Service>();
        app.MapGrpcService<SuppressionApiService>();
        app.MapGrpcReflectionService();
        app.MapGrpcHealthChecksService();
        return app;
    }
}
