using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Kannon.Hosting;

/// <summary>
/// Metrics of every <c>Kannon.*</c> meter and ASP.NET Core (API request rate, errors, latency) on
/// <c>/metrics</c> in Prometheus format; traces of every <c>Kannon.*</c> source, exported over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set; logs carry the trace and span ids.
/// </summary>
internal static class TelemetryModule
{
    public const string MetricsPath = "/metrics";

    public static IHostApplicationBuilder AddKannonTelemetry(this IHostApplicationBuilder builder, Roles roles)
    {
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        var otlp = !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("kannon", serviceInstanceId: $"{Environment.MachineName}:{Environment.ProcessId}")
                .AddAttributes([new("kannon.roles", roles.ToString())]))
            .WithMetrics(metrics =>
            {
                // System.Runtime: GC, thread pool and CPU figures of the process (built into .NET 9+).
                metrics.AddMeter("Kannon.*", "System.Runtime").AddAspNetCoreInstrumentation().AddPrometheusExporter();

                // Every metric stream allocates room for its whole cardinality limit up front (2,000 points by default,
                // ~150 KB each): about 7 MB for the ~50 streams, most of which have a handful of label sets.
                metrics.AddView(instrument => new MetricStreamConfiguration { CardinalityLimit = CardinalityLimitOf(instrument) });
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            })
            .WithTracing(tracing =>
            {
                // No exporter, no spans: with sampling off, StartActivity returns null and costs nothing per message.
                if (!otlp)
                {
                    tracing.SetSampler(new AlwaysOffSampler());
                }

                tracing.AddSource("Kannon.*").AddAspNetCoreInstrumentation(o => o.Filter = context =>
                    !context.Request.Path.StartsWithSegments(MetricsPath) && !context.Request.Path.StartsWithSegments("/healthz") && !context.Request.Path.StartsWithSegments("/readyz"));
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }
            });
        return builder;
    }

    /// <summary>
    /// Kannon's own metrics keep the SDK's default: some are labelled by domain, and a label set past the limit is
    /// folded into an overflow point. The runtime's and ASP.NET Core's have a few label sets each (generation, method,
    /// route, status code).
    /// </summary>
    private static int CardinalityLimitOf(System.Diagnostics.Metrics.Instrument instrument) =>
        instrument.Meter.Name.StartsWith("Kannon", StringComparison.Ordinal) ? 2000 : 200;

    public static WebApplication MapKannonTelemetry(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint(MetricsPath);
        return app;
    }
}
