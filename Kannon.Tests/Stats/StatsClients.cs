using Grpc.Core.Interceptors;
using Kannon.Api;
using Kannon.Protos.Stats.ApiV1;
using Kannon.Protos.Stats.ApiV2;
using Kannon.Tests.Infrastructure;

namespace Kannon.Tests.Stats;

internal static class StatsClients
{
    public static StatsApiV1.StatsApiV1Client StatsV1(this KannonTestHost host, string token = KannonTestHost.AdminToken) =>
        new(host.Channel.Intercept(metadata =>
        {
            metadata.Add(AdminTokenInterceptor.Header, token);
            return metadata;
        }));

    public static StatsApiV2.StatsApiV2Client StatsV2(this KannonTestHost host, string token = KannonTestHost.AdminToken) =>
        new(host.Channel.Intercept(metadata =>
        {
            metadata.Add(AdminTokenInterceptor.Header, token);
            return metadata;
        }));
}
