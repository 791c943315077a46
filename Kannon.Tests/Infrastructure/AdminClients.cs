using Grpc.Core.Interceptors;
using Kannon.Api;
using Kannon.Data;
using AdminApi = Kannon.Protos.Admin.ApiV1.Api;

namespace Kannon.Tests.Infrastructure;

internal static class AdminClients
{
    /// <summary>An Admin API client that sends <paramref name="token"/> (the test host's operator token unless told) in every call.</summary>
    public static AdminApi.ApiClient Admin(this KannonTestHost host, string token = KannonTestHost.AdminToken) =>
        new(host.Channel.Intercept(metadata =>
        {
            metadata.Add(AdminTokenInterceptor.Header, token);
            return metadata;
        }));

    /// <summary>A domain name no other test uses.</summary>
    public static string NewDomainName(string label = "d") => $"{label}-{RandomId.Next()}.example.com";
}
