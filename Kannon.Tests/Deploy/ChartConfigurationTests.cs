using System.Text.RegularExpressions;
using Kannon.Hosting;
using Kannon.Hosting.Configuration;
using Microsoft.Extensions.Configuration;
using YamlDotNet.RepresentationModel;

namespace Kannon.Tests.Deploy;

/// <summary>The chart's <c>config</c> block against appsettings.json and against Kannon's own validation.</summary>
public sealed class ChartConfigurationTests
{
    /// <summary>Keys appsettings.json documents in comments as "unset by default".</summary>
    private static readonly string[] UnsetByDefault = ["http:port", "sender:hostname", "sender:relay:host", "sender:relay:username", "tracker:base_url"];

    /// <summary>Only the embedded default reads it, and a cluster has none.</summary>
    private static readonly string[] LeftOut = ["data_dir"];

    /// <summary>Where the chart differs on purpose: a non-root pod cannot listen on port 25; a cluster ships JSON logs.</summary>
    private static readonly Dictionary<string, string> ChartDefaults = new(StringComparer.OrdinalIgnoreCase) { ["smtp:address"] = ":2525", ["log_format"] = "json" };

    private readonly HelmChart _chart = HelmChart.Load();

    [Fact]
    public void The_chart_config_has_every_appsettings_key_with_its_default()
    {
        var defaults = AppSettings();
        var config = ConfigKeys(_chart.Values["config"], keepEmpty: true);

        defaults.Keys.Except(LeftOut).Where(k => !config.ContainsKey(k)).Should().BeEmpty("config mirrors appsettings.json");
        defaults.Where(d => config.TryGetValue(d.Key, out var value) && !string.Equals(value, ChartDefaults.GetValueOrDefault(d.Key, d.Value), StringComparison.OrdinalIgnoreCase))
            .Select(d => $"{d.Key}: chart {config[d.Key]}, appsettings {d.Value}")
            .Should().BeEmpty("the chart's defaults are Kannon's");
    }

    [Fact]
    public void Every_chart_config_key_is_one_kannon_reads()
    {
        var known = AppSettings().Keys.Concat(UnsetByDefault).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var appsettings = RepositoryFiles.Read("appsettings.json");

        ConfigKeys(_chart.Values["config"], keepEmpty: true).Keys.Select(k => Regex.Replace(k, @":\d+$", ""))
            .Where(k => !known.Contains(k)).Should().BeEmpty();
        foreach (var key in UnsetByDefault)
        {
            appsettings.Should().Contain(key.Split(':')[^1], "appsettings.json documents every key, set or not");
        }
    }

    [Fact]
    public async Task The_chart_config_and_secret_keys_make_a_valid_configuration_for_every_role()
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in ConfigMapEnvironment(_chart.Values["config"]))
        {
            settings[FromEnvironmentName(name)] = value;
        }

        var secretKeys = Regex.Matches(_chart.Templates["secret.yaml"], @"(?m)^\s*(KANNON_\w+):").Select(m => m.Groups[1].Value).ToList();
        var examples = new Dictionary<string, string>
        {
            ["database_url"] = "postgres://kannon:secret@db.example:5432/kannon",
            ["nats_url"] = "nats://nats.example:4222",
            ["api:admin_token"] = "chart-test-admin-token-0123456789",
            ["sender:relay:password"] = "relay-secret",
            ["bounce:secret"] = "chart-test-bounce-secret-0123456789abcdef",
        };
        foreach (var key in secretKeys.Select(FromEnvironmentName))
        {
            examples.Should().ContainKey(key, "every key of the chart's Secret is one Kannon reads");
            settings[key] = examples[key];
        }

        var configuration = KannonConfiguration.Build(null, settings);
        configuration["database_url"].Should().NotBeNullOrEmpty("the Secret sets database_url: a cluster has no embedded PostgreSQL");
        configuration["nats_url"].Should().NotBeNullOrEmpty();
        configuration["api:admin_token"].Should().NotBeNullOrEmpty();
        configuration["smtp:address"].Should().Be(":2525");
        await using var app = KannonHost.Build(configuration, Roles.All);
        using var error = new StringWriter();

        (await ServerCommand.ValidateAsync(app, error)).Should().BeNull(error.ToString());
    }

    /// <summary>What the chart's kannon.configEnv helper writes into the ConfigMap: KANNON_A__B, list items numbered, empties left out.</summary>
    private static IEnumerable<(string Name, string Value)> ConfigMapEnvironment(YamlNode node, string prefix = "KANNON_", string separator = "")
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                foreach (var (key, child) in mapping.Children)
                {
                    foreach (var entry in ConfigMapEnvironment(child, $"{prefix}{separator}{key.ToString().ToUpperInvariant()}", "__"))
                    {
                        yield return entry;
                    }
                }

                break;
            case YamlSequenceNode sequence:
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    foreach (var entry in ConfigMapEnvironment(sequence.Children[i], $"{prefix}__{i}", ""))
                    {
                        yield return entry;
                    }
                }

                break;
            case YamlScalarNode { Value: { Length: > 0 } value }:
                yield return (prefix, value);
                break;
        }
    }

    /// <summary>As the environment configuration provider reads KANNON_SENDER__MAX_JOBS: sender:max_jobs.</summary>
    private static string FromEnvironmentName(string name) =>
        name[KannonConfiguration.EnvironmentPrefix.Length..].Replace("__", ":", StringComparison.Ordinal).ToLowerInvariant();

    private static Dictionary<string, string> ConfigKeys(YamlNode config, bool keepEmpty = false)
    {
        var keys = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        Walk(config, "");
        return keys;

        void Walk(YamlNode node, string path)
        {
            switch (node)
            {
                case YamlMappingNode mapping:
                    foreach (var (key, child) in mapping.Children)
                    {
                        Walk(child, path.Length == 0 ? key.ToString() : $"{path}:{key}");
                    }

                    if (keepEmpty && mapping.Children.Count == 0)
                    {
                        keys[path] = "";
                    }

                    break;
                case YamlSequenceNode sequence:
                    for (var i = 0; i < sequence.Children.Count; i++)
                    {
                        Walk(sequence.Children[i], $"{path}:{i}");
                    }

                    if (keepEmpty && sequence.Children.Count == 0)
                    {
                        keys[path] = "";
                    }

                    break;
                case YamlScalarNode scalar when keepEmpty || !string.IsNullOrEmpty(scalar.Value):
                    keys[path] = scalar.Value ?? "";
                    break;
            }
        }
    }

    /// <summary>Every key appsettings.json sets, with its value, as configuration keys (sender:max_jobs).</summary>
    private static Dictionary<string, string> AppSettings() =>
        new ConfigurationBuilder().AddJsonFile(RepositoryFiles.PathOf("appsettings.json"), optional: false, reloadOnChange: false).Build()
            .AsEnumerable()
            .Where(e => e.Value is not null)
            .ToDictionary(e => e.Key, e => e.Value!, StringComparer.OrdinalIgnoreCase);
}
