using Kannon.Hosting;

namespace Kannon.Tests.Hosting;

public sealed class CommandLineTests
{
    [Fact]
    public async Task Help_lists_every_role_flag_and_migrate()
    {
        var (code, output, _) = await RunAsync("--help");

        code.Should().Be(0);
        foreach (var flag in new[] { "--run-api", "--run-smtp", "--run-sender", "--run-dispatcher", "--run-validator", "--run-verifier", "--run-stats", "--run-tracker", "--run-bounce", "--run-all", "--config", "migrate" })
        {
            output.Should().Contain(flag);
        }
    }

    [Fact]
    public async Task No_role_exits_non_zero_and_lists_the_flags()
    {
        var (code, _, error) = await RunAsync();

        code.Should().NotBe(0);
        error.Should().Contain("no role selected").And.Contain("--run-api").And.Contain("--run-all");
    }

    [Fact]
    public async Task An_unknown_flag_exits_non_zero_with_the_list_of_flags()
    {
        var (code, output, error) = await RunAsync("--run-everything");

        code.Should().NotBe(0);
        error.Should().Contain("--run-everything");
        (output + error).Should().Contain("--run-sender");
    }

    [Fact]
    public async Task An_invalid_value_in_the_config_file_is_named_by_its_key()
    {
        var file = Path.Combine(Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """{ "nats_url": "nats://127.0.0.1:1", "sender": { "max_jobs": 0 } }""");
        try
        {
            var (code, _, error) = await RunAsync("--run-sender", "--config", file);

            code.Should().NotBe(0);
            error.Trim().Split('\n').Should().ContainSingle().Which.Should().Contain("sender.max_jobs");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_is_named_by_its_key()
    {
        var file = Path.Combine(Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, "nats_url: nats://127.0.0.1:1\nsender:\n  connect_timeout: forever\n");
        try
        {
            var (code, _, error) = await RunAsync("--run-sender", "--config", file);

            code.Should().NotBe(0);
            error.Should().Contain("sender:connect_timeout");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_missing_config_file_is_a_clear_error()
    {
        var (code, _, error) = await RunAsync("--run-sender", "--config", "/nonexistent/kannon.yaml");

        code.Should().NotBe(0);
        error.Should().Contain("--config").And.Contain("not found");
    }

    [Fact]
    public async Task The_api_without_an_admin_token_refuses_to_start_when_a_database_is_configured()
    {
        var file = Path.Combine(Path.GetTempPath(), $"noadmin-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """{ "database_url": "postgres://u:p@127.0.0.1:1/db", "nats_url": "nats://127.0.0.1:1" }""");
        try
        {
            var (code, _, error) = await RunAsync("--run-api", "--config", file);

            code.Should().NotBe(0);
            error.Should().Contain("api.admin_token");
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await KannonCommandLine.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
