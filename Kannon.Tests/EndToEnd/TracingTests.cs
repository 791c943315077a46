using System.Diagnostics;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Tests.Infrastructure;
using OpenTelemetry.Trace;

namespace Kannon.Tests.EndToEnd;

public sealed class TracingTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task One_delivery_is_one_trace_from_the_api_call_through_the_dispatcher_to_the_sender()
    {
        var spans = new List<Activity>();
        await using var harness = await SendPathHarness.StartAsync(postgres, configureServices: services =>
            services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.SetSampler(new AlwaysOnSampler()).AddInMemoryExporter(spans)));

        var response = await harness.Mailer.SendHTMLAsync(new SendHTMLReq
        {
            Sender = harness.Sender(),
            Subject = "s",
            Html = "<p>x</p>",
            Recipients = { new Recipient { Email = $"traced@{SendPathHarness.RecipientDomain}" } },
        });

        // Other test classes run hosts in this process too: find this Batch's trace by its dispatch span.
        var dispatched = await Eventually.ReturnsAsync(
            () => Task.FromResult(Snapshot(spans).FirstOrDefault(s => s.OperationName == "kannon.dispatcher.envelope"
                && Equals(s.GetTagItem("kannon.batch.id"), response.MessageId))),
            s => s is not null, TimeSpan.FromSeconds(60), "the Dispatcher's span for this Batch is exported");
        var trace = await Eventually.ReturnsAsync(
            () => Task.FromResult(Snapshot(spans).Where(s => s.TraceId == dispatched!.TraceId).ToList()),
            t => t.Any(s => s.OperationName == "kannon.sender.envelope"), TimeSpan.FromSeconds(60), "the Sender's span joins the same trace");
        trace.Should().Contain(s => s.DisplayName.Contains("SendHTML", StringComparison.Ordinal), "the API call starts the trace");
        trace.Should().Contain(s => s.OperationName == "kannon.dispatcher.envelope");
        trace.Should().Contain(s => s.OperationName == "kannon.sender.envelope");
    }

    private static List<Activity> Snapshot(List<Activity> spans)
    {
        lock (spans)
        {
            return [.. spans];
        }
    }
}
