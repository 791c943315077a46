using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SmtpServer;
using SmtpServer.IO;
using SmtpServer.Net;
using SmtpServer.Protocol;
using SmtpServer.Storage;
using SmtpServerHost = SmtpServer.SmtpServer;
using SmtpServiceProvider = SmtpServer.ComponentModel.ServiceProvider;

namespace Kannon.Bench;

/// <summary>When a message reached the receiver (a <see cref="Stopwatch"/> timestamp), and its bytes.</summary>
internal sealed record Arrival(long Timestamp, byte[] Raw);

/// <summary>
/// A small SMTP receiver (the SmtpServer package, as the product uses) on one loopback address that notes
/// the moment each recipient's message has been taken (end of DATA). smtp-sink only counts, so the latency
/// phase and the DKIM probe of the Postfix phase need this one.
/// </summary>
internal sealed class LoopbackSmtpReceiver : IAsyncDisposable
{
    private readonly SmtpServerHost _server;
    private readonly Task _running;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<Arrival>> _arrivals = new(StringComparer.OrdinalIgnoreCase);

    private LoopbackSmtpReceiver(IPAddress address, TaskCompletionSource<int> bound)
    {
        var options = new SmtpServerOptionsBuilder()
            .ServerName("bench-receiver.local")
            .Endpoint(e => e.Endpoint(new IPEndPoint(address, 0)).SessionTimeout(TimeSpan.FromMinutes(2)))
            .Build();
        var services = new SmtpServiceProvider();
        services.Add(new NoDelayListeners(bound));
        services.Add(new Store(this));
        _server = new SmtpServerHost(options, services);
        _running = _server.StartAsync(_stop.Token);
    }

    public int Port { get; private set; }

    public static async Task<LoopbackSmtpReceiver> StartAsync(IPAddress address)
    {
        var bound = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var receiver = new LoopbackSmtpReceiver(address, bound);
        receiver.Port = await bound.Task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        return receiver;
    }

    /// <summary>Completes when a message for <paramref name="recipient"/> has arrived (or already had).</summary>
    public Task<Arrival> ArrivalOf(string recipient) => Slot(recipient).Task;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _server.Shutdown();
        try
        {
            await _running.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
        }

        _stop.Dispose();
    }

    private TaskCompletionSource<Arrival> Slot(string recipient) =>
        _arrivals.GetOrAdd(recipient, _ => new TaskCompletionSource<Arrival>(TaskCreationOptions.RunContinuationsAsynchronously));

    private sealed class Store(LoopbackSmtpReceiver owner) : MessageStore
    {
        public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            var at = Stopwatch.GetTimestamp();
            // SmtpServer keeps the CRLF that ends the last line as part of "CRLF . CRLF"; put it back.
            var raw = new byte[buffer.Length + 2];
            buffer.CopyTo(raw);
            raw[^2] = (byte)'\r';
            raw[^1] = (byte)'\n';
            foreach (var to in transaction.To)
            {
                owner.Slot($"{to.User}@{to.Host}").TrySetResult(new Arrival(at, raw));
            }

            return Task.FromResult(SmtpResponse.Ok);
        }
    }

    /// <summary>
    /// SmtpServer's own listener leaves Nagle on, so each pipelined reply would wait for the client's delayed
    /// ACK (40 ms) and the latency measured would be the kernel's, not Kannon's.
    /// </summary>
    private sealed class NoDelayListeners(TaskCompletionSource<int> bound) : IEndpointListenerFactory
    {
        public IEndpointListener CreateListener(IEndpointDefinition endpointDefinition)
        {
            var tcp = new TcpListener(endpointDefinition.Endpoint);
            tcp.Start(512);
            bound.TrySetResult(((IPEndPoint)tcp.LocalEndpoint).Port);
            return new Listener(tcp);
        }
    }

    private sealed class Listener(TcpListener tcp) : IEndpointListener
    {
        public async Task<ISecurableDuplexPipe> GetPipeAsync(ISessionContext context, CancellationToken cancellationToken)
        {
            var socket = await tcp.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
            socket.NoDelay = true;
            return new PlainPipe(new NetworkStream(socket, ownsSocket: true));
        }

        public void Dispose() => tcp.Stop();
    }

    /// <summary>No certificate is configured, so STARTTLS is never offered and the pipe stays plain.</summary>
    private sealed class PlainPipe(Stream stream) : ISecurableDuplexPipe
    {
        public PipeReader Input { get; } = PipeReader.Create(stream);

        public PipeWriter Output { get; } = PipeWriter.Create(stream);

        public bool IsSecure => false;

        public SslProtocols SslProtocol => SslProtocols.None;

        public Task UpgradeAsync(X509Certificate certificate, SslProtocols protocols, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("the bench receiver does not offer STARTTLS");

        public void Dispose()
        {
            Input.Complete();
            Output.Complete();
            stream.Dispose();
        }
    }
}
