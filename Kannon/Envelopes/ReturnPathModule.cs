using Kannon.Hosting.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Kannon.Envelopes;

internal static class ReturnPathModule
{
    /// <summary>The Dispatcher signs return paths and the SMTP server verifies them: both need <c>bounce.*</c>, validated at start.</summary>
    public static IServiceCollection AddReturnPaths(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(ReturnPathSigner)))
        {
            return services;   // bound once, so previous_secrets is not read twice into the same list
        }

        services.AddValidatedOptions<BounceOptions>(configuration, BounceOptions.Section);
        services.TryAddSingleton<ReturnPathSigner>();
        return services;
    }
}
