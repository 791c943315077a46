using System.Net;
using Kannon.Envelopes;
using Kannon.Messaging;
using Kannon.Stats;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Kannon.Tracking;

/// <summary>
/// Kannon's hosted one-click unsubscribe (RFC 8058, ADR 0013). <c>POST /u/{token}</c> (what a mail client sends
/// for <c>List-Unsubscribe-Post</c>, whatever the body) publishes an unsubscribe <c>Bounce</c> on
/// <c>kannon.bounce</c>, from which the Dispatcher suppresses the address, and an <c>unsubscribed</c> outcome;
/// it answers 200 only once JetStream stored both, else 503 so the client retries. <c>GET /u/{token}</c> only
/// shows a page whose button makes that POST: link scanners follow GET links, and must not unsubscribe anybody.
/// A token that does not verify as an unsubscribe token is a 404 for both.
/// </summary>
internal static partial class UnsubscribeEndpoints
{
    // Longer than NATS.Net's reconnect hiccups, shorter than a mail client's patience.
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(10);

    public static WebApplication MapUnsubscribe(this WebApplication app)
    {
        app.MapGet("/u/{token}", ConfirmPageAsync);
        app.MapPost("/u/{token}", UnsubscribeAsync);
        return app;
    }

    private static async Task<IResult> ConfirmPageAsync(string token, HttpContext context, TrackingTokens tokens, TrackerMetrics metrics)
    {
        if (await VerifyAsync(token, context, tokens, metrics).ConfigureAwait(false) is not { } target)
        {
            return Results.NotFound();
        }

        var email = WebUtility.HtmlEncode(target.Email);
        var domain = WebUtility.HtmlEncode(target.Domain);
        var action = WebUtility.HtmlEncode($"/u/{token}");
        return Page(context, HttpStatusCode.OK, "Unsubscribe", $"""
            <h1>Unsubscribe</h1>
            <p>Stop mail from <strong>{domain}</strong> to <strong>{email}</strong>?</p>
            <form method="post" action="{action}">
              <input type="hidden" name="List-Unsubscribe" value="One-Click">
              <button type="submit">Unsubscribe</button>
            </form>
            """);
    }

    private static async Task<IResult> UnsubscribeAsync(string token, HttpContext context, TrackingTokens tokens, TrackerMetrics metrics,
        EventPublisher publisher, TimeProvider time, ILoggerFactory loggers)
    {
        if (await VerifyAsync(token, context, tokens, metrics).ConfigureAwait(false) is not { } target)
        {
            return Results.NotFound();
        }

        var now = time.GetUtcNow();
        var bounce = Suppression.UnsubscribeRequest.Event(target.BatchId, target.Email, target.Domain, "tracker", now);
        var stat = Outcomes.Unsubscribed(target.BatchId, target.Email, target.Domain, now);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(PublishTimeout);
        try
        {
            // The suppression first: if the outcome's publish fails, the client's retry repeats both under the same ids.
            await publisher.PublishAsync(Subjects.Bounce, bounce, Suppression.UnsubscribeRequest.MessageId(target.BatchId, target.Email), timeout.Token).ConfigureAwait(false);
            await publisher.PublishAsync(Subjects.Stats(StatTypes.Unsubscribed), stat, Outcomes.MessageIdOf(stat, "unsubscribe"), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PublishException || (e is OperationCanceledException && timeout.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested))
        {
            LogPublishFailed(loggers.CreateLogger(typeof(UnsubscribeEndpoints).FullName!), target.BatchId, e.Message);
            context.Response.Headers.RetryAfter = "60";
            return Page(context, HttpStatusCode.ServiceUnavailable, "Try again", "<h1>Please try again</h1><p>Your request could not be recorded just now. Nothing was changed.</p>");
        }

        metrics.Hit(StatTypes.Unsubscribed);
        LogUnsubscribed(loggers.CreateLogger(typeof(UnsubscribeEndpoints).FullName!), target.BatchId, target.Domain);
        return Page(context, HttpStatusCode.OK, "Unsubscribed",
            $"<h1>Unsubscribed</h1><p><strong>{WebUtility.HtmlEncode(target.Email)}</strong> will get no more mail from <strong>{WebUtility.HtmlEncode(target.Domain)}</strong>.</p>");
    }

    private static async Task<UnsubscribeTarget?> VerifyAsync(string token, HttpContext context, TrackingTokens tokens, TrackerMetrics metrics)
    {
        var claims = await tokens.VerifyAsync(token, TrackingAudience.Unsubscribe, context.RequestAborted).ConfigureAwait(false);
        if (claims is null || EnvelopeIds.DomainOfBatch(claims.BatchId) is not { } domain)
        {
            metrics.Refused(StatTypes.Unsubscribed);
            return null;
        }

        return new UnsubscribeTarget(claims.BatchId, claims.Email, domain);
    }

    private static IResult Page(HttpContext context, HttpStatusCode status, string title, string body)
    {
        var headers = context.Response.Headers;
        headers.CacheControl = "no-store, no-cache, must-revalidate, max-age=0";
        headers.Pragma = "no-cache";
        // The token is in the URL: no referrer, no indexing, nothing loaded from elsewhere.
        headers["Referrer-Policy"] = "no-referrer";
        headers["X-Robots-Tag"] = "noindex, nofollow";
        headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'";
        return Results.Content($$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="robots" content="noindex, nofollow">
            <title>{{title}}</title>
            <style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}button{font-size:1rem;padding:.5rem 1.25rem}</style>
            </head>
            <body>
            {{body}}
            </body>
            </html>
            """, "text/html; charset=utf-8", System.Text.Encoding.UTF8, (int)status);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "One-click unsubscribe for Batch {BatchId} of {Domain} stored")]
    private static partial void LogUnsubscribed(ILogger logger, string batchId, string domain);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not store an unsubscribe for Batch {BatchId}, answering 503 so the client retries: {Reason}")]
    private static partial void LogPublishFailed(ILogger logger, string batchId, string reason);

    private sealed record UnsubscribeTarget(string BatchId, string Email, string Domain);
}
