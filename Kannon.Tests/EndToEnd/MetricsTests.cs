using Kannon.Hosting;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Tests.Infrastructure;

namespace Kannon.Tests.EndToEnd;

public sealed class MetricsTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task Metrics_show_the_delivery_counters_moving_after_a_send()
    {
        // The workers run as their own kannon process: metrics are per process, and this test process hosts others.
        await using var harness = await SendPathHarness.StartAsync(postgres, roles: new Roles(Api: true));
        var port = Kannon.Hosting.Embedded.FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var workers = KannonProcess.Start(["--run-validator", "--run-dispatcher", "--run-sender", "--run-stats"], harness.EnvironmentFor(("KANNON_HTTP__PORT", port)));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var before = await Eventually.ReturnsAsync(async () =>
        {
            try
            {
                return await http.GetStringAsync("/metrics");
            }
            catch (HttpRequestException)
            {
                return "";
            }
        }, text => text.Length > 0, TimeSpan.FromSeconds(60), "the workers' process answers /metrics");
        before.Should().NotContain("type=\"delivered\"");

        await harness.Mailer.SendHTMLAsync(new SendHTMLReq
        {
            Sender = harness.Sender(),
            Subject = "s",
            Html = "<p>x</p>",
            Recipients = { new Recipient { Email = $"m1@{SendPathHarness.RecipientDomain}" }, new Recipient { Email = $"m2@{SendPathHarness.RecipientDomain}" } },
        });

        var deliveredTwice = new System.Text.RegularExpressions.Regex(@"kannon_sender_outcomes[^\n]*delivered[^\n]*\} 2(\.0)?\b");
        var after = await Eventually.ReturnsAsync(() => http.GetStringAsync("/metrics"),
            text => deliveredTwice.IsMatch(text) && text.Contains("kannon_stats_recorded", StringComparison.Ordinal)
                && text.Contains("kannon_pool_deliveries", StringComparison.Ordinal) && text.Contains("kannon_stream_lag{", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), "both deliveries are counted by outcome, with the Stats rows, Pool depth and stream lag");
        after.Should().MatchRegex(@"kannon_sender_smtp_duration[^\n]*destination=""inbox\.example""[^\n]*reply_class=""2xx""[^\n]*\} 2\b", "SMTP latency and reply class per destination domain");
        after.Should().MatchRegex(@"kannon_pool_deliveries[^\n]*status=""scheduled""", "the Pool's depth by status");
        after.Should().MatchRegex(@"kannon_stream_lag\{[^\n]*consumer=""kannon-sending-pool""", "the lag of each durable consumer");
        after.Should().Contain("http_server_request_duration", "HTTP and gRPC requests are measured");
        after.Should().MatchRegex(@"dotnet_gc_collections_total\{[^\n]*gc_heap_generation=""gen0""", "the runtime's GC figures, under their own cardinality limit");
    }
}
