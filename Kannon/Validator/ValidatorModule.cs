using Kannon.Data;
using Kannon.Hosting.Configuration;
using Kannon.Messaging;
using Kannon.Pool;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Kannon.Validator;

internal static class ValidatorModule
{
    public static IHostApplicationBuilder AddValidator(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<ValidatorOptions>(builder.Configuration, ValidatorOptions.Section);
        builder.AddDatabase();
        builder.AddMessaging();
        builder.Services.TryAddSingleton<ValidationPool>();
        builder.Services.TryAddTransient<PoolSignal>();
        builder.Services.AddHostedService<ValidatorWorker>();
        return builder;
    }
}
