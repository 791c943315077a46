using Kannon.Envelopes;
using Kannon.Messaging;
using Kannon.Stats;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Kannon.Tracking;

/// <summary>
/// The Tracker's routes on the process's HTTP listener: <c>GET /o/{token}</c> answers a 1×1 transparent GIF
/// and records <c>opened</c>; <c>GET /c/{token}</c> redirects (307) to the URL signed into the token and
/// records <c>clicked</c>. A token that does not verify for that route (forged, tampered, expired, or made for
/// the other route) is a 404 and records nothing. Responses never wait on NATS (see <see cref="TrackerQueue"/>).
/// <c>/u/{token}</c>, one-click unsubscribe, is in <see cref="UnsubscribeEndpoints"/>: that one does wait.
/// </summary>
internal static class TrackerEndpoints
{
    // The smallest common transparent GIF89a: 1×1, a 2-colour table, a graphic control extension marking
    // colour 0 transparent, one pixel of colour 0. The original served an empty body labelled image/png.
    internal static readonly byte[] Pixel =
    [
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xFF, 0xFF, 0xFF, 0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
    ];

    // Long enough for any real browser; bounds what a hit can put into an event.
    private const int MaxUserAgentLength = 512;

    public static WebApplication MapTracker(this WebApplication app)
    {
        app.MapGet("/o/{token}", OpenAsync);
        app.MapGet("/c/{token}", ClickAsync);
        app.MapUnsubscribe();
        return app;
    }

    private static async Task<IResult> OpenAsync(string token, HttpContext context, TrackingTokens tokens, TrackerQueue queue,
        TrackerMetrics metrics, IOptions<TrackerOptions> options, TimeProvider time)
    {
        var claims = await tokens.VerifyAsync(token, TrackingAudience.Open, context.RequestAborted).ConfigureAwait(false);
        if (claims is null || EnvelopeIds.DomainOfBatch(claims.BatchId) is not { } domain)
        {
            metrics.Refused(StatTypes.Opened);
            return Results.NotFound();
        }

        metrics.Hit(StatTypes.Opened);
        var stat = Outcomes.Opened(claims.BatchId, claims.Email, domain, time.GetUtcNow(), UserAgent(context), ClientAddress.Of(context, options.Value.TrustProxy));
        queue.TryEnqueue(new TrackerEvent(Subjects.Stats(StatTypes.Opened), stat, HitId(stat)));

        var headers = context.Response.Headers;
        headers.CacheControl = "no-store, no-cache, must-revalidate, max-age=0";
        headers.Pragma = "no-cache";
        headers.Expires = "0";
        return Results.Bytes(Pixel, "image/gif");
    }

    private static async Task<IResult> ClickAsync(string token, HttpContext context, TrackingTokens tokens, TrackerQueue queue,
        TrackerMetrics metrics, IOptions<TrackerOptions> options, TimeProvider time)
    {
        var claims = await tokens.VerifyAsync(token, TrackingAudience.Link, context.RequestAborted).ConfigureAwait(false);
        if (claims?.Url is not { } url || EnvelopeIds.DomainOfBatch(claims.BatchId) is not { } domain || Location(url) is not { } location)
        {
            metrics.Refused(StatTypes.Clicked);
            return Results.NotFound();
        }

        metrics.Hit(StatTypes.Clicked);
        var stat = Outcomes.Clicked(claims.BatchId, claims.Email, domain, time.GetUtcNow(), UserAgent(context), ClientAddress.Of(context, options.Value.TrustProxy), url);
        queue.TryEnqueue(new TrackerEvent(Subjects.Stats(StatTypes.Clicked), stat, HitId(stat)));

        context.Response.Headers.CacheControl = "no-store";
        return Results.Redirect(location, permanent: false, preserveMethod: true);
    }

    /// <summary>
    /// Where a click goes: only absolute http(s) URLs, never a script or data URL. The signed text unchanged
    /// when it is plain ASCII; an internationalised URL in its percent-encoded form (HTTP headers are ASCII).
    /// </summary>
    internal static string? Location(string url)
    {
        if (url.Any(char.IsControl) || !Uri.TryCreate(url, UriKind.Absolute, out var uri)
            || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host))
        {
            return null;
        }

        return url.All(char.IsAscii) ? url : uri.AbsoluteUri;
    }

    private static string UserAgent(HttpContext context)
    {
        var agent = context.Request.Headers[HeaderNames.UserAgent].ToString();
        return agent.Length <= MaxUserAgentLength ? agent : agent[..MaxUserAgentLength];
    }

    // Unique per hit (two opens are two events) and fixed across publish retries of this hit.
    private static string HitId(Protos.Stats.Types.Stats stat) => Outcomes.MessageIdOf(stat, "hit:" + Guid.NewGuid().ToString("N"));
}
