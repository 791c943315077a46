using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Kannon.Bench;
using Kannon.Protos.Admin.ApiV1;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Kannon.Tests.Infrastructure;
using AdminClient = Kannon.Protos.Admin.ApiV1.Api.ApiClient;
using MailerClient = Kannon.Protos.Mailer.ApiV1.Mailer.MailerClient;

// Sends N recipients through `kannon --run-all` (embedded PostgreSQL and NATS, DKIM RSA-2048, tracking
// on, stats on) to Postfix's smtp-sink, found through an MX served by a local DNS server. Prints intake
// recipients/s, end-to-end delivered messages/s, CPU ms per message and peak RSS of the kannon process.
// Every loop is bounded in count and time; all traffic stays on loopback.
var n = Arg("--n", 10_000);
var callSize = Arg("--call", 1_000);
var timeout = TimeSpan.FromSeconds(Arg("--timeout-seconds", 600));
var executable = ArgText("--kannon", Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "kannon")));

const string token = "bench-admin-token-0123456789";
const string senderDomain = "bench-sender.example";
const string recipientDomain = "bench-recipients.example";
var workDir = Directory.CreateTempSubdirectory("kannon-bench-").FullName;
var http = FreePort();
var api = FreePort();

await using var dns = new TestDnsServer().Mx(recipientDomain, 10, "mx.bench.example").A("mx.bench.example", "127.0.0.1");
await using var sink = PostfixSmtpSink.Start(FreePort());
var environment = new Dictionary<string, string>
{
    ["KANNON_DATA_DIR"] = workDir,
    ["KANNON_API__PORT"] = api.ToString(CultureInfo.InvariantCulture),
    ["KANNON_API__ADMIN_TOKEN"] = token,
    ["KANNON_HTTP__PORT"] = http.ToString(CultureInfo.InvariantCulture),
    ["KANNON_SMTP__ADDRESS"] = $"127.0.0.1:{FreePort()}",
    ["KANNON_SENDER__PORT"] = sink.Port.ToString(CultureInfo.InvariantCulture),
    ["KANNON_SENDER__DNS_SERVERS__0"] = dns.Address,
    ["KANNON_SENDER__HOSTNAME"] = "bench.kannon.local",
    ["KANNON_SENDER__MAX_JOBS"] = "50",
    ["KANNON_TRACKER__BASE_URL"] = "https://track.bench.example",
    ["DOTNET_gcServer"] = "0",
};
var log = Path.Combine(workDir, "kannon.log");
Console.WriteLine($"bench: N={n} in calls of {callSize}; kannon log: {log}");
await using var kannon = KannonUnderTest.Start(executable, environment, log);
try
{
    await WaitReadyAsync(http, kannon, TimeSpan.FromSeconds(120));
    using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{api}", new GrpcChannelOptions { MaxSendMessageSize = 64 << 20 });
    var admin = new AdminClient(channel.Intercept(m => { m.Add("x-kannon-admin-token", token); return m; }));
    await admin.CreateDomainAsync(new CreateDomainRequest { Domain = senderDomain });
    var key = await admin.CreateAPIKeyAsync(new CreateAPIKeyRequest { Domain = senderDomain, Name = "bench" });
    var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{senderDomain}:{key.Key}"));
    var mailer = new MailerClient(channel.Intercept(m => { m.Add("authorization", $"Basic {basic}"); return m; }));

    var html = MessageHtml();
    var cpuBefore = kannon.CpuTime();
    var clock = Stopwatch.StartNew();
    var intake = TimeSpan.Zero;
    for (var sent = 0; sent < n; sent += callSize)
    {
        var request = new SendHTMLReq
        {
            Sender = new Sender { Email = $"news@{senderDomain}", Alias = "Bench" },
            Subject = "Hello {{ name }}",
            Html = html,
        };
        for (var i = sent; i < Math.Min(n, sent + callSize); i++)
        {
            request.Recipients.Add(new Recipient { Email = $"user{i}@{recipientDomain}", Fields = { ["name"] = $"User {i}" } });
        }

        var callClock = Stopwatch.StartNew();
        var response = await mailer.SendHTMLAsync(request, deadline: DateTime.UtcNow.AddMinutes(2));
        intake += callClock.Elapsed;
        if (response.AcceptedCount != request.Recipients.Count)
        {
            throw new InvalidOperationException($"accepted {response.AcceptedCount} of {request.Recipients.Count}");
        }
    }

    var intakeDone = clock.Elapsed;
    var deadline = DateTime.UtcNow + timeout;
    while (sink.Count < n && DateTime.UtcNow < deadline && !kannon.HasExited)
    {
        await Task.Delay(100);
    }

    var total = clock.Elapsed;
    var delivered = sink.Count;
    var cpu = kannon.CpuTime() - cpuBefore;
    Console.WriteLine($"intake: {n} recipients in {intake.TotalSeconds:F2} s of API calls = {n / intake.TotalSeconds:F0} recipients/s (all calls done after {intakeDone.TotalSeconds:F2} s)");
    Console.WriteLine($"end to end: {delivered} of {n} messages at the sink in {total.TotalSeconds:F2} s = {delivered / total.TotalSeconds:F0} msg/s");
    Console.WriteLine($"kannon cpu: {cpu.TotalMilliseconds / Math.Max(1, delivered):F2} ms per delivered message; peak RSS {kannon.PeakRssMiB():F0} MiB");
    return delivered == n ? 0 : 1;
}
finally
{
    await kannon.DisposeAsync();
    try
    {
        Directory.Delete(workDir, recursive: true);
    }
    catch (IOException)
    {
    }
}

static async Task WaitReadyAsync(int port, KannonUnderTest kannon, TimeSpan within)
{
    using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
    var deadline = DateTime.UtcNow + within;
    while (DateTime.UtcNow < deadline)
    {
        if (kannon.HasExited)
        {
            throw new InvalidOperationException("kannon exited during start; see its log");
        }

        try
        {
            if ((await client.GetAsync($"http://127.0.0.1:{port}/readyz")).IsSuccessStatusCode)
            {
                return;
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
        }

        await Task.Delay(200);
    }

    throw new TimeoutException("kannon did not become ready");
}

static string MessageHtml()
{
    // About 5 KB of HTML with links (rewritten for click tracking) and a body end (open pixel).
    var body = new StringBuilder("<html><body><h1>Hello {{ name }}</h1>");
    for (var i = 0; body.Length < 5_000; i++)
    {
        body.Append(CultureInfo.InvariantCulture, $"<p>Paragraph {i}: lorem ipsum dolor sit amet, consectetur adipiscing elit. <a href=\"https://example.com/articles/{i}\">Read more</a></p>");
    }

    return body.Append("</body></html>").ToString();
}

static int FreePort()
{
    using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
    listener.Start();
    return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
}

int Arg(string name, int fallback) =>
    Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;

string ArgText(string name, string fallback) =>
    Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
