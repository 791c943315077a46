using System.Text.RegularExpressions;

namespace Kannon.Tests.Deploy;

public sealed class DockerfileTests
{
    private readonly Dockerfile _dockerfile = Dockerfile.Load();

    [Fact]
    public void The_image_is_built_with_the_sdk_and_runs_on_the_aspnet_runtime_in_a_second_stage()
    {
        var stages = _dockerfile.Stages;

        stages.Should().HaveCountGreaterThanOrEqualTo(2);
        stages[0].Arguments.Should().StartWith("mcr.microsoft.com/dotnet/sdk:10.0");
        stages[^1].Arguments.Should().StartWith("mcr.microsoft.com/dotnet/aspnet:10.0");
        var buildStage = Regex.Match(stages[0].Arguments, @"\bAS\s+(\S+)", RegexOptions.IgnoreCase).Groups[1].Value;
        _dockerfile.In(_dockerfile.LastStage, "COPY").Should().Contain(c => c.Arguments.StartsWith($"--from={buildStage} ", StringComparison.Ordinal),
            "the runtime stage takes the published files from the build stage");
    }

    [Fact]
    public void The_build_stage_publishes_the_Kannon_project_in_Release()
    {
        var publish = _dockerfile.In(0, "RUN").Select(r => r.Arguments).Where(a => a.Contains("dotnet publish", StringComparison.Ordinal)).ToList();

        publish.Should().ContainSingle().Which.Should().MatchRegex(@"dotnet publish Kannon(/Kannon\.csproj)?\s").And.MatchRegex(@"-c Release\b").And.MatchRegex(@"-o /\S+");
    }

    [Fact]
    public void The_published_kannon_is_on_the_PATH_of_the_runtime_stage()
    {
        var output = Regex.Match(_dockerfile.In(0, "RUN").Single(r => r.Arguments.Contains("dotnet publish", StringComparison.Ordinal)).Arguments, @"-o (\S+)").Groups[1].Value;
        var copy = _dockerfile.In(_dockerfile.LastStage, "COPY").Single(c => c.Arguments.StartsWith("--from=", StringComparison.Ordinal)).Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var workdir = _dockerfile.In(_dockerfile.LastStage, "WORKDIR").LastOrDefault()?.Arguments ?? "/";
        var destination = Path.GetFullPath(copy[2], workdir).TrimEnd('/');

        copy[1].TrimEnd('/').Should().Be(output.TrimEnd('/'), "the runtime stage copies what dotnet publish wrote");
        _dockerfile.Environment(_dockerfile.LastStage)["PATH"].Split(':').Should().Contain(destination, "ENTRYPOINT [\"kannon\"] finds the apphost on the PATH");
    }

    [Fact]
    public void The_entrypoint_is_kannon_and_the_default_command_is_help()
    {
        var entrypoint = _dockerfile.In(_dockerfile.LastStage, "ENTRYPOINT").Should().ContainSingle().Subject;
        var command = _dockerfile.In(_dockerfile.LastStage, "CMD").Should().ContainSingle().Subject;

        Dockerfile.ExecForm(entrypoint.Arguments).Should().Equal("kannon");
        Dockerfile.ExecForm(command.Arguments).Should().Equal("--help");
    }

    [Fact]
    public void The_runtime_stage_runs_as_a_non_root_user()
    {
        var user = _dockerfile.In(_dockerfile.LastStage, "USER").Should().ContainSingle().Subject.Arguments;
        var name = user.Split(':')[0];

        name.Should().NotBe("root").And.NotBe("0").And.NotBeEmpty();
        name.Should().MatchRegex(@"^(\$APP_UID|\$\{APP_UID\}|[1-9][0-9]*)$", "a numeric user (the image's APP_UID) lets Kubernetes check runAsNonRoot");
    }

    [Fact]
    public void The_image_exposes_the_http_api_and_smtp_ports_and_smtp_listens_where_a_non_root_user_may()
    {
        var exposed = _dockerfile.In(_dockerfile.LastStage, "EXPOSE").SelectMany(e => e.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(p => p.Split('/')[0]).ToList();
        var smtpAddress = _dockerfile.Environment(_dockerfile.LastStage)["KANNON_SMTP__ADDRESS"];
        var smtpPort = smtpAddress[(smtpAddress.LastIndexOf(':') + 1)..];

        int.Parse(smtpPort, System.Globalization.CultureInfo.InvariantCulture).Should().BeGreaterThan(1023, "ports below 1024 need root or NET_BIND_SERVICE");
        exposed.Should().Contain(["8080", "50051", smtpPort]);
    }

    [Fact]
    public void The_image_has_a_healthcheck_on_healthz()
    {
        var healthcheck = _dockerfile.In(_dockerfile.LastStage, "HEALTHCHECK").Should().ContainSingle().Subject.Arguments;

        healthcheck.Should().Contain(" CMD ").And.MatchRegex(@"GET /healthz\b").And.Contain("127.0.0.1");
    }
}
