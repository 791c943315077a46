using System.Text.Json;

namespace Kannon.Tests.Deploy;

/// <summary>The repository's Dockerfile as instructions: continuation lines joined, comments dropped.</summary>
internal sealed class Dockerfile
{
    private Dockerfile(IReadOnlyList<DockerInstruction> instructions)
    {
        Instructions = instructions;
    }

    public IReadOnlyList<DockerInstruction> Instructions { get; }

    public IReadOnlyList<DockerInstruction> Stages => Instructions.Where(i => i.Keyword == "FROM").ToList();

    public int LastStage => Stages.Count - 1;

    public static Dockerfile Load() => Parse(RepositoryFiles.Read("Dockerfile"));

    public static Dockerfile Parse(string text)
    {
        var instructions = new List<DockerInstruction>();
        var stage = -1;
        var pending = "";
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }

            var whole = (pending + line).Trim();
            pending = "";
            if (whole.Length == 0)
            {
                continue;
            }

            var space = whole.IndexOf(' ', StringComparison.Ordinal);
            var keyword = (space < 0 ? whole : whole[..space]).ToUpperInvariant();
            var arguments = space < 0 ? "" : whole[(space + 1)..].Trim();
            if (keyword == "FROM")
            {
                stage++;
            }

            instructions.Add(new DockerInstruction(keyword, arguments, stage));
        }

        return new Dockerfile(instructions);
    }

    public IEnumerable<DockerInstruction> In(int stage, string keyword) =>
        Instructions.Where(i => i.Stage == stage && i.Keyword == keyword);

    /// <summary>The exec form of an instruction (<c>["kannon"]</c>); null for the shell form.</summary>
    public static string[]? ExecForm(string arguments) =>
        arguments.StartsWith('[') ? JsonSerializer.Deserialize<string[]>(arguments) : null;

    /// <summary>ENV values of a stage, both <c>ENV K=V K2="V2"</c> and the old <c>ENV K V</c>.</summary>
    public IReadOnlyDictionary<string, string> Environment(int stage)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var env in In(stage, "ENV"))
        {
            if (!env.Arguments.Contains('=', StringComparison.Ordinal))
            {
                var space = env.Arguments.IndexOf(' ', StringComparison.Ordinal);
                values[env.Arguments[..space]] = env.Arguments[(space + 1)..].Trim();
                continue;
            }

            foreach (System.Text.RegularExpressions.Match pair in System.Text.RegularExpressions.Regex.Matches(env.Arguments, """(\w+)=("[^"]*"|\S*)"""))
            {
                values[pair.Groups[1].Value] = pair.Groups[2].Value.Trim('"');
            }
        }

        return values;
    }
}
