using Grpc.Core;
using Kannon.Protos.Stats.ApiV1;

namespace Kannon.Stats;

/// <summary>
/// <c>kannon.StatsApiV1</c>, for the operator (<see cref="Api.AdminTokenInterceptor"/> checks the token):
/// a Domain's outcome rows, newest first, and hourly counts computed from them. Without dates it answers
/// for the last seven days; take 0 is the default page.
/// </summary>
internal sealed class StatsApiV1Service(StatsReader reader, TimeProvider time) : StatsApiV1.StatsApiV1Base
{
    public override async Task<GetStatsRes> GetStats(GetStatsReq request, ServerCallContext context)
    {
        var domain = StatsRequests.Domain(request.Domain);
        var (from, to) = StatsRequests.RangeOrRecent(request.FromDate, request.ToDate, time.GetUtcNow());
        var page = await reader.PageAsync(domain, from, to, request.Skip, StatsRequests.Take(request.Take), context.CancellationToken).ConfigureAwait(false);
        var response = new GetStatsRes { Total = page.Total };
        response.Stats.AddRange(page.Stats.Select(StatsMapping.ToProto));
        return response;
    }

    public override async Task<GetStatsAggregatedRes> GetStatsAggregated(GetStatsAggregatedReq request, ServerCallContext context)
    {
        var domain = StatsRequests.Domain(request.Domain);
        var (from, to) = StatsRequests.RangeOrRecent(request.FromDate, request.ToDate, time.GetUtcNow());
        var buckets = await reader.TimelineAsync(domain, from, to, context.CancellationToken).ConfigureAwait(false);
        var response = new GetStatsAggregatedRes();
        response.Stats.AddRange(buckets.Select(StatsMapping.ToProto));
        return response;
    }
}
