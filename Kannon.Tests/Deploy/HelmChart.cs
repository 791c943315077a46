using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Kannon.Tests.Deploy;

/// <summary>charts/kannon read without Helm: Chart.yaml and values.yaml parsed, templates as text.</summary>
internal sealed class HelmChart
{
    public const string Directory = "charts/kannon";

    private HelmChart(YamlMappingNode chart, YamlMappingNode values, IReadOnlyDictionary<string, string> templates)
    {
        Chart = chart;
        Values = values;
        Templates = templates;
    }

    public YamlMappingNode Chart { get; }

    public YamlMappingNode Values { get; }

    /// <summary>File name (deployment.yaml, _helpers.tpl) to its text.</summary>
    public IReadOnlyDictionary<string, string> Templates { get; }

    public YamlMappingNode Roles => (YamlMappingNode)Values["roles"];

    public static HelmChart Load()
    {
        var templates = System.IO.Directory.GetFiles(RepositoryFiles.PathOf($"{Directory}/templates"))
            .ToDictionary(f => Path.GetFileName(f), File.ReadAllText, StringComparer.Ordinal);
        return new HelmChart(ParseMapping($"{Directory}/Chart.yaml"), ParseMapping($"{Directory}/values.yaml"), templates);
    }

    public static YamlMappingNode ParseMapping(string relative)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(RepositoryFiles.Read(relative));
        stream.Load(reader);
        return stream.Documents.Should().ContainSingle().Subject.RootNode.Should().BeOfType<YamlMappingNode>().Subject;
    }

    /// <summary>The node at a dotted path (<c>roles.sender.hpa</c>), or null when a key is missing.</summary>
    public static YamlNode? Resolve(YamlNode node, IEnumerable<string> path)
    {
        foreach (var key in path)
        {
            if (node is not YamlMappingNode mapping || !mapping.Children.TryGetValue(new YamlScalarNode(key), out var child))
            {
                return null;
            }

            node = child;
        }

        return node;
    }

    public static string Scalar(YamlNode node, string path) =>
        Resolve(node, path.Split('.')) is YamlScalarNode { Value: { } value } ? value : throw new KeyNotFoundException(path);

    /// <summary>The Kubernetes kinds a template declares (<c>kind: Deployment</c> lines at the top level of a document).</summary>
    public IReadOnlyList<string> KindsIn(string template) =>
        Regex.Matches(Templates[template], @"^kind:\s*(\w+)\s*$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();

    /// <summary>The one document of a template that declares <paramref name="kind"/>.</summary>
    public string DocumentOf(string template, string kind) =>
        Regex.Split(Templates[template], @"^---\s*$", RegexOptions.Multiline)
            .Should().ContainSingle(d => Regex.IsMatch(d, $@"^kind:\s*{kind}\s*$", RegexOptions.Multiline)).Subject;

    /// <summary>The httpGet fields (path, port) of a probe of the Deployment template's container.</summary>
    public IReadOnlyDictionary<string, string> ProbeHttpGet(string probe)
    {
        var lines = Templates["deployment.yaml"].Split('\n');
        var at = Array.FindIndex(lines, l => l.Trim() == $"{probe}:");
        at.Should().BeGreaterThanOrEqualTo(0, $"the deployment template has a {probe}");
        lines[at + 1].Trim().Should().Be("httpGet:", $"the {probe} is an HTTP GET");
        var indent = Indent(lines[at + 1]);
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(at + 2).TakeWhile(l => Indent(l) > indent))
        {
            var field = line.Trim().Split(':', 2);
            fields[field[0]] = field[1].Trim();
        }

        return fields;
    }

    private static int Indent(string line) => line.Length - line.TrimStart(' ').Length;
}
