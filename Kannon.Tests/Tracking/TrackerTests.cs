using System.Net;
using System.Text;
using Kannon.Hosting;
using Kannon.Messaging;
using Kannon.Stats;
using Kannon.Tests.Infrastructure;
using Kannon.Tracking;
using Microsoft.Extensions.DependencyInjection;
using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Tests.Tracking;

public sealed class TrackerTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private KannonTestHost _host = null!;
    private HttpClient _http = null!;
    private TestTrackingKeys _keys = null!;

    // A Batch of this test alone, so events of other tests never count.
    private readonly string _batchId = $"msg_{Guid.NewGuid():N}@{AdminClients.NewDomainName("track")}";

    public async Task InitializeAsync()
    {
        _keys = await TestTrackingKeys.CreateAsync(postgres.DataSource);
        _host = await StartTrackerAsync(trustProxy: false);
        _http = Client(_host);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task The_pixel_is_a_transparent_gif_that_is_never_cached_and_records_an_opened_event()
    {
        var token = _keys.Now.CreateOpen(_batchId, "ann@example.org");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/o/{token}");
        request.Headers.UserAgent.ParseAdd("Mozilla/5.0 (TestMail)");

        using var response = await _http.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("image/gif");
        response.Headers.NonValidated["Cache-Control"].ToString().Should().Be("no-store, no-cache, must-revalidate, max-age=0");
        response.Headers.NonValidated["Pragma"].ToString().Should().Be("no-cache");
        response.Content.Headers.TryGetValues("Expires", out var expires).Should().BeTrue();
        expires.Should().Equal("0");
        var gif = await response.Content.ReadAsByteArrayAsync();
        gif.Should().HaveCount(43);
        Encoding.ASCII.GetString(gif, 0, 6).Should().Be("GIF89a");
        BitConverter.ToUInt16(gif, 6).Should().Be(1, "one pixel wide");
        BitConverter.ToUInt16(gif, 8).Should().Be(1, "one pixel high");
        gif[19..22].Should().Equal(0x21, 0xF9, 0x04);
        (gif[22] & 0x01).Should().Be(1, "the graphic control extension marks a transparent colour");
        gif[25].Should().Be(0, "colour 0 is the transparent one");
        gif[^1].Should().Be(0x3B, "the GIF trailer ends the file");

        var opened = (await StatsStreamReader.WaitForAsync(nats.Url, ForBatch)).Single();
        opened.Subject.Should().Be("kannon.stats.opened");
        opened.Type.Should().Be(StatTypes.Opened);
        opened.MsgId.Should().NotBeNullOrEmpty();
        opened.Event.Email.Should().Be("ann@example.org");
        opened.Event.Domain.Should().Be(Kannon.Envelopes.EnvelopeIds.DomainOfBatch(_batchId));
        opened.Event.Type.Should().Be(StatTypes.Opened);
        opened.Event.Data.Opened.UserAgent.Should().Be("Mozilla/5.0 (TestMail)");
        opened.Event.Data.Opened.Ip.Should().Be("127.0.0.1");
        opened.Event.Timestamp.ToDateTimeOffset().Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task Two_opens_are_two_events()
    {
        var token = _keys.Now.CreateOpen(_batchId, "ann@example.org");

        (await _http.GetAsync($"/o/{token}")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await _http.GetAsync($"/o/{token}")).StatusCode.Should().Be(HttpStatusCode.OK);

        var opens = await StatsStreamReader.WaitForAsync(nats.Url, ForBatch, count: 2);
        opens.Select(o => o.MsgId).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task A_click_redirects_307_to_the_signed_url_and_records_clicked_with_that_url()
    {
        const string url = "https://shop.example.com/item?id=42&utm_source=mail#reviews";
        var token = _keys.Now.CreateLink(_batchId, "ann@example.org", url);

        using var response = await _http.GetAsync($"/c/{token}");

        response.StatusCode.Should().Be(HttpStatusCode.TemporaryRedirect);
        response.Headers.Location!.OriginalString.Should().Be(url);
        var clicked = (await StatsStreamReader.WaitForAsync(nats.Url, ForBatch)).Single();
        clicked.Subject.Should().Be("kannon.stats.clicked");
        clicked.Type.Should().Be(StatTypes.Clicked);
        clicked.Event.Email.Should().Be("ann@example.org");
        clicked.Event.Data.Clicked.Url.Should().Be(url);
        clicked.Event.Data.Clicked.Ip.Should().Be("127.0.0.1");
    }

    [Theory]
    [InlineData("javascript:alert(1)")]
    [InlineData("data:text/html,<script>alert(1)</script>")]
    [InlineData("mailto:ann@example.org")]
    [InlineData("/relative/path")]
    [InlineData("ftp://files.example.com/a")]
    public async Task A_signed_link_that_is_not_http_is_not_followed(string url)
    {
        var token = _keys.Now.CreateLink(_batchId, "ann@example.org", url);

        using var response = await _http.GetAsync($"/c/{token}");

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        response.Headers.Location.Should().BeNull();
    }

    [Fact]
    public async Task Forged_tampered_expired_and_cross_channel_tokens_are_404_and_record_nothing()
    {
        var refused = new List<string>();
        var open = _keys.Now.CreateOpen(_batchId, "ann@example.org");
        var link = _keys.Now.CreateLink(_batchId, "ann@example.org", "https://example.com/");
        refused.Add($"/o/{_keys.Forger().CreateOpen(_batchId, "ann@example.org")}");
        refused.Add($"/c/{_keys.Forger().CreateLink(_batchId, "ann@example.org", "https://example.com/")}");
        refused.Add($"/c/{TokenTampering.Tamper(link, "https://example.com/", "https://evil.example/")}");
        refused.Add($"/o/{TokenTampering.Tamper(open, "ann@example.org", "bob@example.org")}");
        refused.Add($"/o/{_keys.At(DateTimeOffset.UtcNow.AddDays(-100)).CreateOpen(_batchId, "ann@example.org")}");
        refused.Add($"/c/{_keys.At(DateTimeOffset.UtcNow.AddDays(-100)).CreateLink(_batchId, "ann@example.org", "https://example.com/")}");
        refused.Add($"/c/{open}");
        refused.Add($"/o/{link}");
        refused.Add($"/o/{_keys.Now.CreateUnsubscribe(_batchId, "ann@example.org")}");
        refused.Add($"/o/{open[..^2]}");
        refused.Add("/o/not-a-token");
        refused.Add("/c/a.b.c");
        refused.Add($"/o/{open}.");
        refused.Add($"/o/{open[..^1]}");
        refused.Add($"/o/{TokenTampering.Unsigned(open)}");
        refused.Add($"/c/{TokenTampering.Unsigned(link)}");

        foreach (var path in refused)
        {
            using var response = await _http.GetAsync(path);
            response.StatusCode.Should().Be(HttpStatusCode.NotFound, path);
            response.Headers.Location.Should().BeNull(path);
            (await response.Content.ReadAsByteArrayAsync()).Should().NotEqual(TrackerEndpoints.Pixel, path);
        }

        // A valid hit after all of them: once it is stored, anything the refused ones had queued would be too.
        (await _http.GetAsync($"/o/{_keys.Now.CreateOpen(_batchId, "carol@example.org")}")).StatusCode.Should().Be(HttpStatusCode.OK);
        await StatsStreamReader.WaitForAsync(nats.Url, s => ForBatch(s) && s.Email == "carol@example.org");
        var stored = await StatsStreamReader.ReadAsync(nats.Url, ForBatch);
        stored.Should().ContainSingle().Which.Event.Email.Should().Be("carol@example.org");
    }

    [Fact]
    public async Task X_Forwarded_For_is_ignored_unless_the_proxy_is_trusted()
    {
        await using var trusting = await StartTrackerAsync(trustProxy: true);
        using var trustingHttp = Client(trusting);

        await HitWithForwardedAsync(_http, _keys.Now.CreateOpen(_batchId, "direct@example.org"));
        await HitWithForwardedAsync(trustingHttp, _keys.Now.CreateOpen(_batchId, "proxied@example.org"));
        using (var realIp = new HttpRequestMessage(HttpMethod.Get, $"/c/{_keys.Now.CreateLink(_batchId, "realip@example.org", "https://example.com/")}"))
        {
            realIp.Headers.Add("X-Real-IP", "198.51.100.9");
            (await trustingHttp.SendAsync(realIp)).StatusCode.Should().Be(HttpStatusCode.TemporaryRedirect);
        }

        var events = await StatsStreamReader.WaitForAsync(nats.Url, ForBatch, count: 3);
        events.Single(e => e.Event.Email == "direct@example.org").Event.Data.Opened.Ip.Should().Be("127.0.0.1");
        events.Single(e => e.Event.Email == "proxied@example.org").Event.Data.Opened.Ip.Should().Be("203.0.113.7");
        events.Single(e => e.Event.Email == "realip@example.org").Event.Data.Clicked.Ip.Should().Be("198.51.100.9");
    }

    private static async Task HitWithForwardedAsync(HttpClient http, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/o/{token}");
        request.Headers.Add("X-Forwarded-For", "203.0.113.7, 10.0.0.1");
        request.Headers.Add("X-Real-IP", "192.0.2.1");
        (await http.SendAsync(request)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    private bool ForBatch(StatsEvent stat) => stat.MessageId == _batchId;

    private async Task<KannonTestHost> StartTrackerAsync(bool trustProxy)
    {
        var settings = KannonTestHost.BaseSettings(postgres.ConnectionString, nats.Url);
        settings["tracker:trust_proxy"] = trustProxy ? "true" : "false";
        var host = await KannonTestHost.StartAsync(new Roles(Tracker: true), settings);
        await host.Services.GetRequiredService<TopologyProvisioner>().EnsureAsync(CancellationToken.None);
        return host;
    }

    private static HttpClient Client(KannonTestHost host) =>
        new(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = host.HttpAddress };
}
