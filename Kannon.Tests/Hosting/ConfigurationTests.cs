using Kannon.Api;
using Kannon.Dispatcher;
using Kannon.Hosting;
using Kannon.Hosting.Configuration;
using Kannon.Sender;
using Kannon.Smtp;
using Kannon.Stats;
using Microsoft.Extensions.Configuration;

namespace Kannon.Tests.Hosting;

public sealed class ConfigurationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("kannon-config-").FullName;

    [Fact]
    public void An_original_kannon_yaml_config_maps_to_the_same_settings()
    {
        var file = Write("kannon.yaml", """
            database_url: postgres://kannon:secret@db.internal:5433/kannon?sslmode=disable
            nats_url: nats://nats.internal:4222
            debug: true
            api:
              port: 50052
            sender:
              hostname: mail.example.com
              max_jobs: 25
              demo_sender: true
            smtp:
              address: ":2525"
              domain: bounces.example.com
              read_timeout: 15s
              write_timeout: 1m
              max_payload: 2097152
              max_recipients: 20
            bump:
              port: 8081
            stats:
              retention: 4380h
            run-api: true
            """);

        var configuration = KannonConfiguration.Build(file);

        var root = configuration.Get<KannonOptions>()!;
        root.DatabaseUrl.Should().Be("postgres://kannon:secret@db.internal:5433/kannon?sslmode=disable");
        root.NatsUrl.Should().Be("nats://nats.internal:4222");
        root.Debug.Should().BeTrue();
        configuration.GetSection(ApiOptions.Section).Get<ApiOptions>()!.Port.Should().Be(50052);
        var sender = configuration.GetSection(SenderOptions.Section).Get<SenderOptions>()!;
        sender.Hostname.Should().Be("mail.example.com");
        sender.MaxJobs.Should().Be(25);
        sender.DemoSender.Should().BeTrue();
        var smtp = configuration.GetSection(SmtpOptions.Section).Get<SmtpOptions>()!;
        smtp.Address.Should().Be(":2525");
        smtp.Domain.Should().Be("bounces.example.com");
        smtp.ReadTimeout.Should().Be(TimeSpan.FromSeconds(15));
        smtp.WriteTimeout.Should().Be(TimeSpan.FromMinutes(1));
        smtp.MaxPayload.Should().Be(2097152);
        smtp.MaxRecipients.Should().Be(20);
        configuration.GetSection(StatsOptions.Section).Get<StatsOptions>()!.Retention.Should().Be(TimeSpan.FromHours(4380));
        var http = configuration.GetSection(HttpOptions.Section).Get<HttpOptions>() ?? new HttpOptions();
        HttpOptions.ApplyAliases(http, configuration);
        http.Port.Should().Be(8081, "bump.port is the original's name for the tracker port");
        Kannon.Data.PostgresUrl.ToConnectionString(root.DatabaseUrl!).Should().Contain("Host=db.internal").And.Contain("Port=5433").And.Contain("Database=kannon");
    }

    [Fact]
    public void Every_key_has_its_documented_default()
    {
        var configuration = KannonConfiguration.Build(null);

        var root = configuration.Get<KannonOptions>() ?? new KannonOptions();
        root.DatabaseUrl.Should().BeNull();
        root.NatsUrl.Should().BeNull();
        root.DataDir.Should().Be("./.kannon");
        var api = configuration.GetSection(ApiOptions.Section).Get<ApiOptions>() ?? new ApiOptions();
        api.Port.Should().Be(50051);
        var sender = configuration.GetSection(SenderOptions.Section).Get<SenderOptions>() ?? new SenderOptions();
        sender.MaxJobs.Should().Be(10);
        sender.Port.Should().Be(25);
        sender.DemoSender.Should().BeFalse();
        var smtp = configuration.GetSection(SmtpOptions.Section).Get<SmtpOptions>() ?? new SmtpOptions();
        smtp.Address.Should().Be(":25");
        smtp.MaxPayload.Should().Be(1048576);
        smtp.MaxRecipients.Should().Be(50);
        (configuration.GetSection(HttpOptions.Section).Get<HttpOptions>() ?? new HttpOptions()).Port.Should().Be(8080);
        (configuration.GetSection(StatsOptions.Section).Get<StatsOptions>() ?? new StatsOptions()).Retention.Should().Be(TimeSpan.FromHours(8760));
        var dispatcher = configuration.GetSection(DispatcherOptions.Section).Get<DispatcherOptions>() ?? new DispatcherOptions();
        dispatcher.RetryMin.Should().Be(TimeSpan.FromMinutes(5));
        dispatcher.RetryBase.Should().Be(TimeSpan.FromMinutes(2));
        dispatcher.RetryBudget.Should().Be(TimeSpan.FromHours(24));
    }

    [Fact]
    public void Environment_variables_override_the_file()
    {
        var file = Write("kannon.json", """{ "api": { "port": 1 }, "dispatcher": { "retry_min": "00:00:02" } }""");
        Environment.SetEnvironmentVariable("KANNON_API__PORT", "50099");
        try
        {
            var configuration = KannonConfiguration.Build(file);

            configuration.GetSection(ApiOptions.Section).Get<ApiOptions>()!.Port.Should().Be(50099);
            configuration.GetSection(DispatcherOptions.Section).Get<DispatcherOptions>()!.RetryMin.Should().Be(TimeSpan.FromSeconds(2), ".NET durations work too");
        }
        finally
        {
            Environment.SetEnvironmentVariable("KANNON_API__PORT", null);
        }
    }

    [Theory]
    [InlineData("10s", 10_000)]
    [InlineData("5m", 300_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("250ms", 250)]
    [InlineData("8760h", 31_536_000_000)]
    [InlineData("00:05:00", 300_000)]
    [InlineData("1.00:00:00", 86_400_000)]
    public void Durations_are_read_the_go_way_and_the_dotnet_way(string text, long milliseconds) =>
        Duration.Parse(text).Should().Be(TimeSpan.FromMilliseconds(milliseconds));

    [Theory]
    [InlineData("")]
    [InlineData("ten seconds")]
    [InlineData("10x")]
    [InlineData("-5s")]
    public void Nonsense_is_not_a_duration(string text) => Duration.TryParse(text, out _).Should().BeFalse();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(string name, string content)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, content);
        return path;
    }
}
