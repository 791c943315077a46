using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Tests.Infrastructure;

namespace Kannon.Tests.EndToEnd;

public sealed class MetricsTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task Metrics_show_the_delivery_counters_moving_after_a_send()
    {
        await using var harness = await SendPathHarness.StartAsync(postgres);
        using var http = new HttpClient { BaseAddress = harness.Host.HttpAddress };
        var before = await http.GetStringAsync("/metrics");
        before.Should().NotContain("outcome_type=\"delivered\"");

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
            TimeSpan.FromSeconds(60), "both deliveries are counted by outcome, and the Stats worker's rows too");
        after.Should().Contain("http_server_request_duration", "API requests are measured");
        after.Should().MatchRegex(@"kannon_sender_smtp_duration[^\n]*destination=""inbox\.example""[^\n]*reply_class=""2xx""", "SMTP latency and reply class per destination domain");
        after.Should().Contain("kannon_pool_deliveries", "the Pool's depth by status");
        after.Should().Contain("kannon_stream_lag{", "the lag of each durable consumer");
    }
}
