using System.CommandLine;
using System.Globalization;
using System.Net;
using Kannon.Hosting;
using Kannon.Hosting.Configuration;
using Microsoft.Extensions.Configuration;

namespace Kannon.Cli;

/// <summary>
/// Where the operator commands find the API and the operator token, strongest first:
/// <c>--api</c> / <c>--token</c>, then <c>KANNON_API_ADDRESS</c> / <c>KANNON_API__ADMIN_TOKEN</c>, then the
/// configuration (<c>--config FILE</c>: <c>api.port</c>, <c>api.admin_token</c>), then the embedded default
/// (<c>http://127.0.0.1:50051</c> and the token file <c>&lt;data_dir&gt;/admin_token</c>).
/// </summary>
internal sealed class CliConnection
{
    public const string AddressVariable = "KANNON_API_ADDRESS";
    public const string TokenVariable = "KANNON_API__ADMIN_TOKEN";
    public const string DefaultAddress = "http://127.0.0.1:50051";

    private readonly bool _operator;

    /// <param name="operatorCommand">Whether the command calls the operator services and so takes <c>--token</c>.</param>
    public CliConnection(bool operatorCommand = true)
    {
        _operator = operatorCommand;
    }

    public Option<string?> Api { get; } = new("--api")
    {
        Description = $"Kannon API address (default: ${AddressVariable}, else api.port of --config, else {DefaultAddress})",
        HelpName = "ADDRESS",
    };

    public Option<string?> Token { get; } = new("--token")
    {
        Description = $"operator token (default: ${TokenVariable}, else api.admin_token of --config, else <data_dir>/admin_token)",
        HelpName = "TOKEN",
    };

    public Option<string?> Config { get; } = KannonCommandLine.ConfigOption();

    public void AddTo(Command command)
    {
        command.Options.Add(Api);
        if (_operator)
        {
            command.Options.Add(Token);
        }

        command.Options.Add(Config);
    }

    /// <summary>The API address and (for operator commands) the token; a <see cref="CliException"/> when neither source has them.</summary>
    public (Uri Address, string? Token) Resolve(ParseResult parse)
    {
        IConfiguration? configuration = null;
        IConfiguration Configuration() => configuration ??= ReadConfiguration(parse.GetValue(Config));

        var address = Address(parse.GetValue(Api) ?? NonEmpty(Environment.GetEnvironmentVariable(AddressVariable)), Configuration);
        if (!_operator)
        {
            return (address, null);
        }

        var token = NonEmpty(parse.GetValue(Token)) ?? NonEmpty(Environment.GetEnvironmentVariable(TokenVariable));
        if (token is null)
        {
            // The configuration includes KANNON_* variables, so KANNON_API__ADMIN_TOKEN is seen here too.
            token = NonEmpty(Configuration()["api:admin_token"]);
        }

        if (token is null)
        {
            var file = Path.GetFullPath(Path.Combine(NonEmpty(Configuration()["data_dir"]) ?? "./.kannon", "admin_token"));
            if (File.Exists(file))
            {
                token = NonEmpty(File.ReadAllText(file));
            }

            if (token is null)
            {
                throw new CliException(
                    $"no operator token: pass --token, set {TokenVariable}, set api.admin_token in --config, or run where {file} exists");
            }
        }

        return (address, token.Trim());
    }

    internal static Uri ParseAddress(string text)
    {
        var value = text.Trim();
        if (!value.Contains("://", StringComparison.Ordinal))
        {
            value = "http://" + value;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
        {
            throw new CliException($"--api: '{text}' is not an address (http://host:port or host:port)");
        }

        return uri;
    }

    private static Uri Address(string? given, Func<IConfiguration> configuration)
    {
        if (given is not null)
        {
            return ParseAddress(given);
        }

        var settings = configuration();
        var portText = NonEmpty(settings["api:port"]);
        if (portText is null)
        {
            return new Uri(DefaultAddress);
        }

        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new CliException($"api.port: '{portText}' is not a TCP port; pass --api ADDRESS");
        }

        // A server listening on every interface is reached on loopback; one bound to an address, on that address.
        var host = "127.0.0.1";
        if (IPAddress.TryParse(NonEmpty(settings["api:address"]) ?? "", out var bound) && !bound.Equals(IPAddress.Any) && !bound.Equals(IPAddress.IPv6Any))
        {
            host = bound.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{bound}]" : bound.ToString();
        }

        return new Uri($"http://{host}:{port.ToString(CultureInfo.InvariantCulture)}");
    }

    private static IConfiguration ReadConfiguration(string? configFile)
    {
        try
        {
            return KannonConfiguration.Build(configFile);
        }
        catch (ConfigurationException e)
        {
            throw new CliException(e.Message);
        }
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>A problem the command reports as one line on stderr (exit 2): bad usage, missing credentials.</summary>
internal sealed class CliException(string message) : Exception(message);
