using Kannon.Hosting.Configuration;
using Microsoft.Extensions.Configuration;

namespace Kannon.Hosting;

/// <summary>The HTTP listener every process has: health, readiness, metrics, and the tracker's routes.</summary>
internal sealed class HttpOptions : IValidatedOptions
{
    public const string Section = "http";

    /// <summary>Also read from the original's <c>tracker.port</c> and <c>bump.port</c>.</summary>
    public int Port { get; set; } = 8080;

    public string Address { get; set; } = "0.0.0.0";

    public IEnumerable<string> Validate()
    {
        if (Port is < 0 or > 65535)
        {
            yield return $"http.port: {Port} is not a TCP port (0-65535)";
        }

        if (!System.Net.IPAddress.TryParse(Address, out _))
        {
            yield return $"http.address: '{Address}' is not an IP address";
        }
    }

    /// <summary><c>http.port</c> wins, then <c>tracker.port</c>, then <c>bump.port</c>.</summary>
    internal static void ApplyAliases(HttpOptions options, IConfiguration configuration)
    {
        if (configuration["http:port"] is not null)
        {
            return;
        }

        var alias = configuration["tracker:port"] ?? configuration["bump:port"];
        if (alias is not null)
        {
            options.Port = int.TryParse(alias, out var port)
                ? port
                : throw new InvalidOperationException($"tracker.port: '{alias}' is not a number");
        }
    }
}
