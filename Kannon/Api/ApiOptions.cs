using Kannon.Hosting.Configuration;
using Microsoft.Extensions.Configuration;

namespace Kannon.Api;

internal sealed class ApiOptions : IValidatedOptions
{
    public const string Section = "api";

    public int Port { get; set; } = 50051;

    public string Address { get; set; } = "0.0.0.0";

    /// <summary>Operator token for the Admin and Stats services (<c>x-kannon-admin-token</c>).</summary>
    [ConfigurationKeyName("admin_token")]
    public string? AdminToken { get; set; }

    /// <summary>Largest gRPC request accepted; a bigger one gets RESOURCE_EXHAUSTED.</summary>
    [ConfigurationKeyName("max_request_bytes")]
    public int MaxRequestBytes { get; set; } = 64 * 1024 * 1024;

    public IEnumerable<string> Validate()
    {
        if (Port is < 0 or > 65535)
        {
            yield return $"api.port: {Port} is not a TCP port (0-65535)";
        }

        if (!System.Net.IPAddress.TryParse(Address, out _))
        {
            yield return $"api.address: '{Address}' is not an IP address";
        }

        if (string.IsNullOrWhiteSpace(AdminToken))
        {
            yield return "api.admin_token: required with --run-api (set it, or KANNON_API__ADMIN_TOKEN)";
        }
        else if (AdminToken.Trim().Length < 16)
        {
            yield return "api.admin_token: must be at least 16 characters";
        }

        if (MaxRequestBytes < 1024)
        {
            yield return $"api.max_request_bytes: {MaxRequestBytes} is too small (at least 1024)";
        }
    }
}
