using System.Diagnostics;
using System.Net;
using Kannon.Hosting;
using Kannon.Tests.Infrastructure;

namespace Kannon.Tests.Deploy;

/// <summary>
/// The Dockerfile's HEALTHCHECK command and the chart's probe paths, run against a real Kannon process
/// (a Sender, the one role that needs only NATS).
/// </summary>
public sealed class ImageHealthcheckTests : IClassFixture<NatsFixture>
{
    private readonly NatsFixture _nats;

    public ImageHealthcheckTests(NatsFixture nats)
    {
        _nats = nats;
    }

    [Fact]
    public async Task The_image_healthcheck_passes_while_kannon_runs_and_fails_once_it_stops()
    {
        var host = await StartSenderAsync();
        var port = host.HttpAddress!.Port;
        try
        {
            (await RunHealthcheckAsync(port)).Should().Be(0);
        }
        finally
        {
            await host.DisposeAsync();
        }

        (await RunHealthcheckAsync(port)).Should().NotBe(0);
    }

    [Fact]
    public async Task The_chart_probe_paths_answer_on_the_http_port_of_a_running_kannon()
    {
        await using var host = await StartSenderAsync();
        using var http = new HttpClient { BaseAddress = host.HttpAddress };
        var chart = HelmChart.Load();
        var liveness = chart.ProbeHttpGet("livenessProbe")["path"];
        var readiness = chart.ProbeHttpGet("readinessProbe")["path"];

        (await http.GetAsync(liveness)).StatusCode.Should().Be(HttpStatusCode.OK);
        await Eventually.HoldsAsync(async () => (await http.GetAsync(readiness)).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(20), "the sender becomes ready");
        (await http.GetAsync("/no-such-probe")).StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    private Task<KannonTestHost> StartSenderAsync() => KannonTestHost.StartAsync(new Roles(Sender: true), new Dictionary<string, string?>
    {
        ["nats_url"] = _nats.Url,
        ["http:port"] = "0",
        ["http:address"] = "127.0.0.1",
        ["sender:hostname"] = "kannon.test",
        ["sender:drain_timeout"] = "2s",
    });

    /// <summary>Runs the HEALTHCHECK's exec form as Docker would, with http.port set as the image's environment would.</summary>
    private static async Task<int> RunHealthcheckAsync(int port)
    {
        var dockerfile = Dockerfile.Load();
        var arguments = dockerfile.In(dockerfile.LastStage, "HEALTHCHECK").Single().Arguments;
        var command = Dockerfile.ExecForm(arguments[(arguments.IndexOf(" CMD ", StringComparison.Ordinal) + 5)..].Trim())
            ?? throw new InvalidOperationException("HEALTHCHECK CMD is not in exec form");
        var start = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["KANNON_HTTP__PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return process.ExitCode;
    }
}
