namespace Kannon.Tests.Cli;

public sealed class CliHelpTests
{
    [Fact]
    public async Task Help_lists_the_operator_commands()
    {
        var result = await KannonCli.RunAsync("--help");

        result.Code.Should().Be(0);
        foreach (var command in new[] { "domain", "apikey", "template", "send", "stats" })
        {
            result.Output.Should().MatchRegex($@"(?m)^\s+{command}\s");
        }
    }

    [Theory]
    [InlineData("domain", "create", "list", "show")]
    [InlineData("apikey", "create", "list", "deactivate")]
    [InlineData("template", "create", "list", "show", "delete")]
    public async Task Each_group_lists_its_subcommands(string group, params string[] subcommands)
    {
        var result = await KannonCli.RunAsync(group, "--help");

        result.Code.Should().Be(0);
        foreach (var subcommand in subcommands)
        {
            result.Output.Should().MatchRegex($@"(?m)^\s+{subcommand}\b");
        }
    }

    [Fact]
    public async Task A_missing_required_option_exits_non_zero_naming_it()
    {
        var result = await KannonCli.RunAsync("apikey", "create", "--name", "x");

        result.Code.Should().NotBe(0);
        result.Error.Should().Contain("--domain");
    }
}
