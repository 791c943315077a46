using Kannon.Data;
using Kannon.Hosting.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Kannon.Api;

internal static class ApiModule
{
    public static IHostApplicationBuilder AddApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<ApiOptions>(builder.Configuration, ApiOptions.Section);
        builder.AddDatabase();
        var maxRequest = builder.Configuration.GetSection(ApiOptions.Section).Get<ApiOptions>()?.MaxRequestBytes ?? new ApiOptions().MaxRequestBytes;
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = maxRequest;
            o.EnableDetailedErrors = false;
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddGrpcHealthChecks();
        return builder;
    }

    public static WebApplication MapApi(this WebApplication app)
    {
        app.MapGrpcReflectionService();
        app.MapGrpcHealthChecksService();
        return app;
    }
}
