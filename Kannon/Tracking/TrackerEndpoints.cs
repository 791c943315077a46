using Microsoft.AspNetCore.Builder;

namespace Kannon.Tracking;

internal static class TrackerEndpoints
{
    public static WebApplication MapTracker(this WebApplication app) => app;
}
