using Grpc.Core;
using Kannon.Protos.Admin.ApiV1;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Kannon.Admin;

/// <summary>
/// <c>pkg.kannon.admin.apiv1.HZService/HZ</c>, open to anyone: the readiness checks that fail, by name, with
/// their error. An empty map means healthy, as the original's clients read it.
/// </summary>
internal sealed class HzApiService(HealthCheckService health) : HZService.HZServiceBase
{
    public override async Task<HZResponse> HZ(HZRequest request, ServerCallContext context)
    {
        var report = await health.CheckHealthAsync(check => check.Tags.Contains("ready"), context.CancellationToken).ConfigureAwait(false);
        var response = new HZResponse();
        foreach (var (name, entry) in report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy))
        {
            response.Result[name] = entry.Description ?? entry.Exception?.Message ?? entry.Status.ToString();
        }

        return response;
    }
}
