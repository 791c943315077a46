using Grpc.Core;
using Kannon.Protos.Stats.ApiV2;

namespace Kannon.Stats;

/// <summary>
/// <c>kannon.stats.apiv2.StatsApiV2</c>, for the operator: the kept hourly counts of a Domain (they outlive
/// the rows' retention). Domain, from_date and to_date are all required.
/// </summary>
internal sealed class StatsApiV2Service(StatsReader reader) : StatsApiV2.StatsApiV2Base
{
    public override async Task<GetAggregatedStatsRes> GetAggregatedStats(GetAggregatedStatsReq request, ServerCallContext context)
    {
        var domain = StatsRequests.Domain(request.Domain);
        var (from, to) = StatsRequests.Range(request.FromDate, request.ToDate);
        var buckets = await reader.AggregatedAsync(domain, from, to, context.CancellationToken).ConfigureAwait(false);
        var response = new GetAggregatedStatsRes();
        response.Stats.AddRange(buckets.Select(StatsMapping.ToProto));
        return response;
    }
}
