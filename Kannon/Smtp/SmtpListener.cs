using System.Net;
using SmtpServer;
using SmtpServer.Net;

namespace Kannon.Smtp;

/// <summary>SmtpServer's own TCP listener, telling where it listens (port 0 in tests gets a port from the kernel).</summary>
internal sealed class SmtpListener : IEndpointListenerFactory
{
    private readonly EndpointListenerFactory _inner = new();
    private readonly TaskCompletionSource<IPEndPoint> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SmtpListener() =>
        _inner.EndpointStarted += (_, e) => _started.TrySetResult((IPEndPoint)e.LocalEndPoint);

    /// <summary>Completes with the bound address once the server listens.</summary>
    public Task<IPEndPoint> Started => _started.Task;

    public IEndpointListener CreateListener(IEndpointDefinition endpointDefinition) => _inner.CreateListener(endpointDefinition);
}
