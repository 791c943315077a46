using System.Net;
using Kannon.Hosting.Embedded;
using Kannon.Tests.Infrastructure;

namespace Kannon.Tests.Hosting;

public sealed class EmbeddedDefaultTests
{
    [Fact]
    public async Task Run_all_with_nothing_configured_brings_up_postgres_and_nats_and_leaves_nothing_behind()
    {
        var dataDir = Directory.CreateTempSubdirectory("kannon-embedded-").FullName;
        var httpPort = FreePort.Next();
        try
        {
            await using (var kannon = KannonProcess.Start(["--run-all"], new Dictionary<string, string>
            {
                ["KANNON_DATA_DIR"] = dataDir,
                ["KANNON_HTTP__PORT"] = httpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["KANNON_API__PORT"] = FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["KANNON_SMTP__ADDRESS"] = $"127.0.0.1:{FreePort.Next()}",
            }))
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
                await Eventually.HoldsAsync(async () =>
                {
                    kannon.HasExited.Should().BeFalse(kannon.Output);
                    try
                    {
                        return (await http.GetAsync($"http://127.0.0.1:{httpPort}/readyz")).StatusCode == HttpStatusCode.OK;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                }, TimeSpan.FromSeconds(120), "kannon --run-all becomes ready");

                ProcessesUnder(dataDir).Should().NotBeEmpty("PostgreSQL and NATS run under data_dir");
                File.Exists(Path.Combine(dataDir, "pg", "data", "PG_VERSION")).Should().BeTrue();
                Directory.Exists(Path.Combine(dataDir, "nats", "jetstream")).Should().BeTrue();
                File.ReadAllText(Path.Combine(dataDir, "bounce_secret")).Trim().Length.Should().BeGreaterThanOrEqualTo(32, "the embedded default keeps a bounce.secret");
                File.Exists(Path.Combine(dataDir, "admin_token")).Should().BeTrue("the embedded default makes an operator token");
                kannon.Output.Should().Contain("operator token");

                kannon.Terminate();
                (await kannon.WaitForExitAsync(TimeSpan.FromSeconds(60))).Should().Be(0, kannon.Output);
            }

            ProcessesUnder(dataDir).Should().BeEmpty("stopping kannon stops the servers it started");
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static List<string> ProcessesUnder(string directory) =>
        Directory.GetDirectories("/proc")
            .Where(d => int.TryParse(Path.GetFileName(d), out _))
            .Select(d =>
            {
                try
                {
                    return File.ReadAllText(Path.Combine(d, "cmdline")).Replace('\0', ' ');
                }
                catch (IOException)
                {
                    return "";
                }
                catch (UnauthorizedAccessException)
                {
                    return "";
                }
            })
            .Where(cmd => cmd.Contains(directory, StringComparison.Ordinal) && !cmd.Contains("kannon-test", StringComparison.Ordinal))
            .ToList();
}
