using System.CommandLine;
using System.Text.RegularExpressions;
using Kannon.Hosting;

namespace Kannon.Tests.Docs;

/// <summary>Every <c>kannon …</c> command the README shows parses against the real command line, so the README cannot rot.</summary>
public sealed partial class ReadmeCommandsTests
{
    [Fact]
    public void Every_kannon_command_in_the_readme_parses()
    {
        var commands = ReadmeCommands().ToList();
        commands.Should().HaveCountGreaterThanOrEqualTo(7, "the README walks through domain, apikey, send, stats, migrate and role flags");

        var root = KannonCommandLine.Build();
        foreach (var command in commands)
        {
            var parse = root.Parse(Arguments(command));
            parse.Errors.Should().BeEmpty($"'{command}' is shown in the README");
        }
    }

    [Fact]
    public void The_readme_names_the_two_commands_that_exist()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        readme.Should().Contain("./run.sh").And.Contain("./test.sh");
        File.Exists(Path.Combine(RepositoryRoot(), "run.sh")).Should().BeTrue();
        File.ReadAllText(Path.Combine(RepositoryRoot(), ".ci", "run")).Should().Contain("./test.sh");
    }

    private static IEnumerable<string> ReadmeCommands()
    {
        var inBlock = false;
        var pending = "";
        foreach (var raw in File.ReadLines(Path.Combine(RepositoryRoot(), "README.md")))
        {
            if (raw.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inBlock = !inBlock;
                continue;
            }

            if (!inBlock)
            {
                continue;
            }

            var line = pending + raw.Trim();
            if (line.EndsWith('\\'))
            {
                pending = line.TrimEnd('\\') + " ";
                continue;
            }

            pending = "";
            var match = KannonInvocation().Match(line.Split(" #")[0]);
            if (match.Success)
            {
                yield return match.Groups["args"].Value.Trim();
            }
        }
    }

    // Placeholders like <domain> or $KEY become plain words; quoted strings stay one argument.
    private static string[] Arguments(string command) =>
        ArgumentPattern().Matches(command)
            .Select(m => m.Groups["q"].Success ? m.Groups["q"].Value : m.Value)
            .Select(a => a.Replace("<", "", StringComparison.Ordinal).Replace(">", "", StringComparison.Ordinal))
            .ToArray();

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "kannon.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("kannon.sln not found above the test output");
    }

    [GeneratedRegex(@"^.*(?:^|\s)(?:\S*/)?kannon\s+(?<args>(?:[a-z]+\b|--run-\S+|--help|--config)(?!-).*)$")]
    private static partial Regex KannonInvocation();

    [GeneratedRegex("\"(?<q>[^\"]*)\"|'(?<q>[^']*)'|\\S+")]
    private static partial Regex ArgumentPattern();
}
