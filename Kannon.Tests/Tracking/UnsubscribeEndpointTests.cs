using System.Net;
using System.Text;
using Kannon.Hosting;
using Kannon.Messaging;
using Kannon.Protos.Bounce.Types;
using Kannon.Stats;
using Kannon.Tests.Infrastructure;
using Kannon.Tracking;
using Microsoft.Extensions.DependencyInjection;

namespace Kannon.Tests.Tracking;

/// <summary><c>POST</c> and <c>GET /u/{token}</c> on a real Tracker, real PostgreSQL (keys) and real NATS (kannon.bounce, kannon.stats).</summary>
public sealed class UnsubscribeEndpointTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private KannonTestHost _host = null!;
    private HttpClient _http = null!;
    private TestTrackingKeys _keys = null!;

    // A Batch of this test alone, so events of other tests never count.
    private readonly string _batchId = $"msg_{Guid.NewGuid():N}@{AdminClients.NewDomainName("unsub")}";

    private string Domain => Kannon.Envelopes.EnvelopeIds.DomainOfBatch(_batchId)!;

    public async Task InitializeAsync()
    {
        _keys = await TestTrackingKeys.CreateAsync(postgres.DataSource);
        _host = await KannonTestHost.StartAsync(new Roles(Tracker: true), KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url));
        await _host.Services.GetRequiredService<TopologyProvisioner>().EnsureAsync(CancellationToken.None);
        _http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _host.HttpAddress };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task A_one_click_post_answers_200_and_stores_one_unsubscribe_bounce_and_one_unsubscribed_outcome_however_often_it_is_sent()
    {
        var token = _keys.Now.CreateUnsubscribe(_batchId, "ann@example.org");

        using var first = await PostAsync(token, "List-Unsubscribe=One-Click");
        using var second = await PostAsync(token, "anything at all");

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        second.StatusCode.Should().Be(HttpStatusCode.OK);
        first.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        (await first.Content.ReadAsStringAsync()).Should().Contain("Unsubscribed").And.Contain("ann@example.org");

        // 200 came after JetStream's ack: the event is there now, no waiting.
        var bounces = await BounceStreamReader.ReadAsync(nats.Url, b => b.MessageId == _batchId);
        var bounce = bounces.Should().ContainSingle("the second POST carries the same Nats-Msg-Id").Subject;
        bounce.Subject.Should().Be(Subjects.Bounce);
        bounce.MsgId.Should().Be($"unsubscribe:{_batchId}:ann@example.org");
        bounce.Event.Kind.Should().Be(BounceKind.Unsubscribe);
        bounce.Event.Email.Should().Be("ann@example.org");
        bounce.Event.Domain.Should().Be(Domain);
        bounce.Event.ReportingMta.Should().Be("tracker");
        bounce.Event.ArrivedAt.ToDateTimeOffset().Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));

        var outcomes = await StatsStreamReader.ReadAsync(nats.Url, s => s.MessageId == _batchId);
        var outcome = outcomes.Should().ContainSingle().Subject;
        outcome.Subject.Should().Be("kannon.stats.unsubscribed");
        outcome.Type.Should().Be(StatTypes.Unsubscribed);
        outcome.Event.Email.Should().Be("ann@example.org");
        outcome.Event.Domain.Should().Be(Domain);
    }

    [Fact]
    public async Task Get_shows_a_never_cached_page_whose_form_posts_to_the_same_url_and_unsubscribes_nothing()
    {
        var token = _keys.Now.CreateUnsubscribe(_batchId, "bob@example.org");

        using var page = await _http.GetAsync($"/u/{token}");

        page.StatusCode.Should().Be(HttpStatusCode.OK);
        page.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        page.Headers.NonValidated["Cache-Control"].ToString().Should().Contain("no-store");
        page.Headers.NonValidated["Referrer-Policy"].ToString().Should().Be("no-referrer");
        var html = await page.Content.ReadAsStringAsync();
        html.Should().StartWith("<!DOCTYPE html>").And.Contain("bob@example.org").And.Contain(Domain);
        html.Should().Contain($"<form method=\"post\" action=\"/u/{token}\">").And.Contain("<button type=\"submit\">");

        // A POST for someone else afterwards: once its events are stored, anything the GET had published would be too.
        (await PostAsync(_keys.Now.CreateUnsubscribe(_batchId, "carol@example.org"), "List-Unsubscribe=One-Click")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await BounceStreamReader.ReadAsync(nats.Url, b => b.MessageId == _batchId)).Select(b => b.Event.Email).Should().Equal("carol@example.org");
        (await StatsStreamReader.ReadAsync(nats.Url, s => s.MessageId == _batchId)).Select(s => s.Event.Email).Should().Equal("carol@example.org");
    }

    [Fact]
    public async Task Forged_tampered_expired_and_other_channel_tokens_are_404_for_get_and_post_and_publish_nothing()
    {
        var valid = _keys.Now.CreateUnsubscribe(_batchId, "ann@example.org");
        var refused = new[]
        {
            _keys.Forger().CreateUnsubscribe(_batchId, "ann@example.org"),
            TokenTampering.Tamper(valid, "ann@example.org", "victim@example.org"),
            _keys.At(DateTimeOffset.UtcNow.AddDays(-100)).CreateUnsubscribe(_batchId, "ann@example.org"),
            _keys.Now.CreateOpen(_batchId, "ann@example.org"),
            _keys.Now.CreateLink(_batchId, "ann@example.org", "https://example.com/"),
            valid[..^2],
            TokenTampering.Unsigned(valid),
            "not-a-token",
        };

        foreach (var token in refused)
        {
            (await _http.GetAsync($"/u/{token}")).StatusCode.Should().Be(HttpStatusCode.NotFound, token);
            (await PostAsync(token, "List-Unsubscribe=One-Click")).StatusCode.Should().Be(HttpStatusCode.NotFound, token);
        }

        (await PostAsync(_keys.Now.CreateUnsubscribe(_batchId, "dave@example.org"), "List-Unsubscribe=One-Click")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await BounceStreamReader.ReadAsync(nats.Url, b => b.MessageId == _batchId)).Select(b => b.Event.Email).Should().Equal("dave@example.org");
    }

    [Fact]
    public async Task While_nats_is_down_a_post_is_503_so_the_client_retries_and_the_retry_is_stored_once()
    {
        var token = _keys.Now.CreateUnsubscribe(_batchId, "erin@example.org");

        await nats.Server.StopAsync();
        HttpStatusCode whileDown;
        try
        {
            using var response = await PostAsync(token, "List-Unsubscribe=One-Click");
            whileDown = response.StatusCode;
            response.Headers.RetryAfter.Should().NotBeNull();
        }
        finally
        {
            await nats.Server.StartAsync(CancellationToken.None);
        }

        whileDown.Should().Be(HttpStatusCode.ServiceUnavailable);
        var retried = await Eventually.ReturnsAsync(async () => (await PostAsync(token, "List-Unsubscribe=One-Click")).StatusCode,
            status => status == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "a retried unsubscribe accepted once NATS is back");
        retried.Should().Be(HttpStatusCode.OK);
        (await BounceStreamReader.ReadAsync(nats.Url, b => b.MessageId == _batchId)).Should().ContainSingle()
            .Which.Event.Email.Should().Be("erin@example.org");
    }

    private Task<HttpResponseMessage> PostAsync(string token, string body) =>
        _http.PostAsync($"/u/{token}", new StringContent(body, Encoding.ASCII, "application/x-www-form-urlencoded"));
}
