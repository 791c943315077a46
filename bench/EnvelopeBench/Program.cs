using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Kannon.Dkim;
using Kannon.Envelopes;
using Kannon.Templates;
using Kannon.Tracking;
using Microsoft.Extensions.Options;

// Builds Envelopes the way the Dispatcher does (one EnvelopeBatch, many recipients) and prints the rate.
const int Count = 20_000;
// Long enough for tiered compilation to reach its optimised code, as in a running Dispatcher.
const int Warmup = 10_000;

using var rsa = RSA.Create(2048);
var key = new TrackingKey("key_bench", RandomNumberGenerator.GetBytes(32), DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(180));
var ring = new TrackingKeyRing([key], TimeSpan.FromDays(90), TimeProvider.System);
var builder = new EnvelopeBuilder(new TemplateRenderer(), new TrackingTokens(ring, TimeProvider.System), new DkimSigners(),
    new ReturnPathSigner(Options.Create(new BounceOptions { Secret = "bench-bounce-secret-0123456789abcdef" })), Options.Create(new TrackerOptions()));

var batch = new EnvelopeBatch
{
    BatchId = "msg_bench0000000000000000@example.com",
    Domain = "example.com",
    Subject = "Hello {{ name }}, your {{ plan-name }} invoice",
    TemplateId = "template_bench@example.com",
    Html = Html(),
    SenderEmail = "news@example.com",
    SenderAlias = "Example News",
    Dkim = new DkimMaterial("example.com", "kannon", Convert.ToBase64String(rsa.ExportRSAPrivateKey())),
};

// --dump: print one built message.
if (args.Contains("--dump"))
{
    var sample = builder.Build(batch with { To = ["Ünïcode <a@example.net>"], Cc = ["cc1@example.net", "cc2@example.net"] },
        Recipient(7), DateTimeOffset.UtcNow);
    Console.WriteLine($"from={sample.From} to={sample.To} return_path={sample.ReturnPath} email_id={sample.EmailId}");
    Console.WriteLine(sample.Body.ToStringUtf8());
    return;
}

// --profile: 25 s of unsigned builds to attach a profiler to (dotnet-trace collect -- ./EnvelopeBench --profile).
if (args.Contains("--profile"))
{
    var unsignedBatch = batch with { Dkim = null };
    var deadline = Stopwatch.StartNew();
    var n = 0;
    while (deadline.Elapsed < TimeSpan.FromSeconds(25))
    {
        builder.Build(unsignedBatch, Recipient(n++), DateTimeOffset.UtcNow);
    }

    return;
}

// --steps: allocation and time of each step of a build, to see where an Envelope's cost goes.
if (args.Contains("--steps"))
{
    var renderer = new TemplateRenderer();
    var tokens = new TrackingTokens(ring, TimeProvider.System);
    var rendered = renderer.RenderHtml(batch.TemplateId, batch.Html, "user1@example.org", Recipient(1).Fields);
    var signer = new DkimSigners().For(batch.Dkim!);
    var unsignedBody = builder.Build(batch with { Dkim = null }, Recipient(1), DateTimeOffset.UtcNow).Body.ToByteArray();
    Step("render html", i => renderer.RenderHtml(batch.TemplateId, batch.Html, $"user{i}@example.org", Recipient(i).Fields));
    Step("html to text", _ => HtmlToText.Convert(rendered));
    Step("rewrite links", i => HtmlTracking.RewriteLinks(rendered, (url, output) => tokens.AppendLink(output.Append("https://t.example.com/c/"), batch.BatchId, $"user{i}@example.org", url)));
    Step("dkim sign", _ => signer.Sign(unsignedBody, ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"], DateTimeOffset.UtcNow));
    Step("whole build, unsigned", i => builder.Build(batch with { Dkim = null }, Recipient(i), DateTimeOffset.UtcNow));
    return;
}

void Step(string label, Func<int, object> step)
{
    for (var i = 0; i < Warmup; i++)
    {
        step(i);
    }

    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var allocated = GC.GetAllocatedBytesForCurrentThread();
    for (var i = 0; i < Count; i++)
    {
        step(i);
    }

    var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
    Console.WriteLine($"{label}: {cpuUsed.TotalMicroseconds / Count:F1} µs CPU, {(GC.GetAllocatedBytesForCurrentThread() - allocated) / Count / 1024.0:F1} KiB allocated per message");
}

Run("signed (DKIM rsa-sha256 2048)", batch);
Run("unsigned (everything but the RSA signature)", batch with { Dkim = null });
RunParallel("signed, all cores", batch);

void Run(string label, EnvelopeBatch b)
{
    for (var i = 0; i < Warmup; i++)
    {
        builder.Build(b, Recipient(i), DateTimeOffset.UtcNow);
    }

    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var allocated = GC.GetAllocatedBytesForCurrentThread();
    var clock = Stopwatch.StartNew();
    long bytes = 0;
    for (var i = 0; i < Count; i++)
    {
        bytes += builder.Build(b, Recipient(i), DateTimeOffset.UtcNow).Body.Length;
    }

    clock.Stop();
    var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
    var allocatedPerMessage = (GC.GetAllocatedBytesForCurrentThread() - allocated) / Count;
    Console.WriteLine($"{label}: {Count / clock.Elapsed.TotalSeconds:F0} messages/s on one thread, "
        + $"{clock.Elapsed.TotalMicroseconds / Count:F1} µs wall / {cpuUsed.TotalMicroseconds / Count:F1} µs CPU per message, "
        + $"{bytes / Count} bytes each, {allocatedPerMessage / 1024} KiB allocated per message");
}

void RunParallel(string label, EnvelopeBatch b)
{
    var clock = Stopwatch.StartNew();
    Parallel.For(0, Count, i => builder.Build(b, Recipient(i), DateTimeOffset.UtcNow));
    clock.Stop();
    Console.WriteLine($"{label} ({Environment.ProcessorCount}): {Count / clock.Elapsed.TotalSeconds:F0} messages/s");
}

static EnvelopeRecipient Recipient(int i) => new()
{
    Email = $"user{i}@example.org",
    Fields = new Dictionary<string, string> { ["name"] = $"User <{i}>", ["plan-name"] = "Pro", ["city"] = "Torino" },
    UnsubscribeUrl = $"https://example.com/unsubscribe?u=user{i}%40example.org",
};

// About 12 KB: a typical newsletter with ten links, an image, styles and a footer.
static string Html()
{
    var html = new StringBuilder("""
        <!DOCTYPE html><html><head><meta charset="utf-8"><title>News</title>
        <style>body{font-family:sans-serif}.btn{color:#fff;background:#06c;padding:8px}</style></head>
        <body><table width="100%"><tr><td><img src="https://cdn.example.com/logo.png" alt="Example"></td></tr>
        <tr><td><h1>Hello {{ name }}!</h1><p>Your {{ plan-name }} plan from {{ city }} renews soon. &nbsp;Thanks for being with us.</p>

        """);
    for (var i = 0; i < 10; i++)
    {
        html.Append($"""
            <p>Story {i}: Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut
            labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut
            aliquip ex ea commodo consequat. <a class="btn" href="https://www.example.com/stories/{i}?utm_source=news&amp;utm_medium=email">Read more</a></p>

            """);
    }

    html.Append("""
        <p><a href="mailto:help@example.com">Write to us</a> · <a href="#top">Top</a> · <a href="https://example.com/prefs" data-no-track>Preferences</a></p>
        </td></tr></table></body></html>
        """);
    return html.ToString();
}
