using Microsoft.Extensions.Configuration;

namespace Kannon.Hosting.Configuration;

/// <summary>
/// Where settings come from, weakest first: the embedded appsettings.json (every key with its default),
/// appsettings.json beside the binary, <c>--config FILE</c> (JSON or YAML, original Kannon files included),
/// then <c>KANNON_*</c> environment variables (<c>KANNON_API__PORT</c>).
/// </summary>
internal static class KannonConfiguration
{
    public const string EnvironmentPrefix = "KANNON_";

    public static IConfigurationRoot Build(string? configFile, IDictionary<string, string?>? overrides = null)
    {
        DurationConverter.Register();
        var builder = new ConfigurationBuilder();
        var embedded = typeof(KannonConfiguration).Assembly.GetManifestResourceStream("appsettings.json");
        if (embedded is not null)
        {
            builder.AddJsonStream(embedded);
        }

        builder.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true, reloadOnChange: false);
        if (configFile is not null)
        {
            var path = Path.GetFullPath(configFile);
            if (!File.Exists(path))
            {
                throw new ConfigurationException($"--config: file not found: {path}");
            }

            switch (Path.GetExtension(path).ToLowerInvariant())
            {
                case ".yaml" or ".yml":
                    builder.AddYamlFile(path, optional: false, reloadOnChange: false);
                    break;
                case ".json":
                    builder.AddJsonFile(path, optional: false, reloadOnChange: false);
                    break;
                default:
                    throw new ConfigurationException($"--config: {path} must end in .json, .yaml or .yml");
            }
        }

        builder.AddEnvironmentVariables(EnvironmentPrefix);
        if (overrides is not null)
        {
            builder.AddInMemoryCollection(overrides);
        }

        try
        {
            return builder.Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or IOException || e.GetType().Name.Contains("Yaml", StringComparison.Ordinal))
        {
            throw new ConfigurationException($"--config: cannot read {configFile}: {e.Message}");
        }
    }
}
