using Grpc.Net.Client;
using Kannon.Hosting;
using Kannon.Hosting.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Kannon.Tests.Infrastructure;

/// <summary>The real host (the executable's own assembly code) with chosen roles, on 127.0.0.1 with ports from the kernel.</summary>
internal sealed class KannonTestHost : IAsyncDisposable
{
    public const string AdminToken = "test-admin-token-0123456789";

    /// <summary>The return-path secret (bounce.secret) every test host signs and verifies with.</summary>
    public const string BounceSecret = "test-bounce-secret-0123456789abcdefghij";

    private readonly WebApplication _app;
    private GrpcChannel? _channel;

    private KannonTestHost(WebApplication app) => _app = app;

    public IServiceProvider Services => _app.Services;

    public Uri HttpAddress { get; private set; } = null!;

    public Uri? ApiAddress { get; private set; }

    public GrpcChannel Channel => _channel ??= GrpcChannel.ForAddress(ApiAddress ?? throw new InvalidOperationException("no --run-api in this host"));

    public static Dictionary<string, string?> BaseSettings(string databaseUrl, string natsUrl) => new()
    {
        ["database_url"] = databaseUrl,
        ["nats_url"] = natsUrl,
        ["api:port"] = "0",
        ["api:address"] = "127.0.0.1",
        ["api:admin_token"] = AdminToken,
        ["http:port"] = "0",
        ["http:address"] = "127.0.0.1",
        ["smtp:address"] = "127.0.0.1:0",
        ["sender:hostname"] = "kannon.test",
        ["bounce:secret"] = BounceSecret,
    };

    /// <param name="configureApp">Runs after the host's own mapping, before it starts: a test maps an endpoint of its own here (a stand-in gRPC service).</param>
    public static async Task<KannonTestHost> StartAsync(
        Roles roles,
        IDictionary<string, string?> settings,
        Action<IServiceCollection>? configureServices = null,
        Action<WebApplication>? configureApp = null)
    {
        var configuration = KannonConfiguration.Build(configFile: null, settings);
        var app = KannonHost.Build(configuration, roles, configureServices);
        configureApp?.Invoke(app);
        var host = new KannonTestHost(app);
        await app.StartAsync().ConfigureAwait(false);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri(a.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)))
            .ToList();
        // Kestrel lists endpoints in the order they were configured: HTTP first, then the API.
        host.HttpAddress = addresses[0];
        host.ApiAddress = roles.Api ? addresses[1] : null;
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
