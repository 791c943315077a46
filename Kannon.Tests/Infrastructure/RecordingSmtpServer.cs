using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SmtpServer;
using SmtpServer.IO;
using SmtpServer.Mail;
using SmtpServer.Net;
using SmtpServer.Protocol;
using SmtpServer.Storage;
using SmtpServerHost = SmtpServer.SmtpServer;
using SmtpServiceProvider = SmtpServer.ComponentModel.ServiceProvider;

namespace Kannon.Tests.Infrastructure;

/// <summary>
/// A real SMTP server (the SmtpServer package) on a loopback port from the kernel that records every
/// message it takes, and answers by the recipient's local part:
/// <list type="bullet">
/// <item><c>bounce…</c>: 550 5.1.1 at RCPT</item>
/// <item><c>transient-N…</c>: 451 4.7.1 at RCPT for the first N attempts, then accepted</item>
/// <item><c>reject…</c>: 554 5.7.1 after DATA (not recorded)</item>
/// <item><c>slow…</c>: recorded, then the 250 after DATA waits <see cref="SlowDelay"/></item>
/// </list>
/// Every other recipient is accepted.
/// </summary>
internal sealed class RecordingSmtpServer : IAsyncDisposable
{
    private readonly SmtpServerHost _server;
    private readonly Task _running;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<ReceivedMessage> _messages = new();
    private readonly ConcurrentDictionary<string, int> _rcptAttempts = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _deliveredTo = new(StringComparer.OrdinalIgnoreCase);
    private int _sessions;
    private int _received;
    private int _disposed;

    private RecordingSmtpServer(IPAddress address, X509Certificate2? certificate, TaskCompletionSource<int> started)
    {
        var options = new SmtpServerOptionsBuilder()
            .ServerName("recorder.test")
            .Endpoint(e =>
            {
                e.Endpoint(new IPEndPoint(address, 0)).SessionTimeout(TimeSpan.FromMinutes(2));
                if (certificate is not null)
                {
                    e.Certificate(certificate);
                }
            })
            .Build();
        var services = new SmtpServiceProvider();
        services.Add(new NoDelayListeners(started));
        services.Add(new Filter(this));
        services.Add(new Store(this));
        _server = new SmtpServerHost(options, services);
        _server.SessionCreated += (_, _) => Interlocked.Increment(ref _sessions);
        _running = _server.StartAsync(_stop.Token);
    }

    public int Port { get; private set; }

    /// <summary>SMTP sessions (TCP connections) opened so far.</summary>
    public int Connections => Volatile.Read(ref _sessions);

    public IReadOnlyList<ReceivedMessage> Messages => [.. _messages];

    public TimeSpan SlowDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long every RCPT TO waits before its answer: paces a run (before the message is taken, so it adds no duplicates).</summary>
    public TimeSpan RcptDelay { get; set; } = TimeSpan.Zero;

    /// <summary>False: count messages without keeping their bytes (benchmarks).</summary>
    public bool KeepMessages { get; set; } = true;

    /// <summary>Messages taken so far, kept or not.</summary>
    public int Received => Volatile.Read(ref _received);

    /// <summary>Messages taken per recipient, kept or not: more than one is a duplicate.</summary>
    public IReadOnlyDictionary<string, int> DeliveriesByRecipient => _deliveredTo;

    /// <summary>RCPT TO commands seen for an address.</summary>
    public int RcptAttempts(string address) => _rcptAttempts.TryGetValue(address, out var n) ? n : 0;

    public static async Task<RecordingSmtpServer> StartAsync(IPAddress? address = null, X509Certificate2? certificate = null)
    {
        var started = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = new RecordingSmtpServer(address ?? IPAddress.Loopback, certificate, started);
        server.Port = await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        _server.Shutdown();
        try
        {
            await _running.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
        }

        _stop.Dispose();
    }

    private static string Local(IMailbox mailbox) => mailbox.User ?? string.Empty;

    private static string Address(IMailbox mailbox) => $"{mailbox.User}@{mailbox.Host}";

    private sealed class Filter(RecordingSmtpServer owner) : IMailboxFilter
    {
        public Task<bool> CanAcceptFromAsync(SmtpServer.ISessionContext context, IMailbox from, int size, CancellationToken cancellationToken) =>
            Task.FromResult(true);

        public async Task<bool> CanDeliverToAsync(SmtpServer.ISessionContext context, IMailbox to, IMailbox from, CancellationToken cancellationToken)
        {
            if (owner.RcptDelay > TimeSpan.Zero)
            {
                await Task.Delay(owner.RcptDelay, cancellationToken);
            }

            var attempts = owner._rcptAttempts.AddOrUpdate(Address(to), 1, (_, n) => n + 1);
            var local = Local(to);
            if (local.StartsWith("bounce", StringComparison.OrdinalIgnoreCase))
            {
                throw new SmtpResponseException(new SmtpResponse(SmtpReplyCode.MailboxUnavailable, $"5.1.1 <{Address(to)}>: user unknown"));
            }

            if (local.StartsWith("transient-", StringComparison.OrdinalIgnoreCase)
                && int.TryParse(new string(local["transient-".Length..].TakeWhile(char.IsAsciiDigit).ToArray()), out var failures)
                && attempts <= failures)
            {
                throw new SmtpResponseException(new SmtpResponse((SmtpReplyCode)451, $"4.7.1 <{Address(to)}>: try again later"));
            }

            return true;
        }
    }

    private sealed class Store(RecordingSmtpServer owner) : MessageStore
    {
        public override async Task<SmtpResponse> SaveAsync(SmtpServer.ISessionContext context, SmtpServer.IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            var to = transaction.To.Select(Address).ToList();
            if (transaction.To.Any(t => Local(t).StartsWith("reject", StringComparison.OrdinalIgnoreCase)))
            {
                return new SmtpResponse(SmtpReplyCode.TransactionFailed, "5.7.1 message refused");
            }

            foreach (var recipient in to)
            {
                owner._deliveredTo.AddOrUpdate(recipient, 1, (_, n) => n + 1);
            }

            Interlocked.Increment(ref owner._received);
            if (owner.KeepMessages)
            {
                // SmtpServer hands over the content without the CRLF that ends its last line (it reads it as part
                // of "CRLF . CRLF"); put it back, so Raw is exactly what the client sent.
                var raw = new byte[buffer.Length + 2];
                buffer.CopyTo(raw);
                raw[^2] = (byte)'\r';
                raw[^1] = (byte)'\n';
                owner._messages.Enqueue(new ReceivedMessage(Address(transaction.From), to, raw, context.Pipe?.IsSecure ?? false));
            }

            if (transaction.To.Any(t => Local(t).StartsWith("slow", StringComparison.OrdinalIgnoreCase)))
            {
                await Task.Delay(owner.SlowDelay, cancellationToken);
            }

            return SmtpResponse.Ok;
        }
    }

    /// <summary>
    /// SmtpServer's own listener leaves Nagle on and writes each pipelined reply separately, so the client's
    /// delayed ACK stalls every transaction by 40 ms. A real MTA (Postfix) writes pipelined replies together;
    /// TCP_NODELAY gets the same effect here.
    /// </summary>
    private sealed class NoDelayListeners(TaskCompletionSource<int> started) : IEndpointListenerFactory
    {
        public IEndpointListener CreateListener(IEndpointDefinition endpointDefinition)
        {
            var tcp = new TcpListener(endpointDefinition.Endpoint);
            tcp.Start(512);
            started.TrySetResult(((IPEndPoint)tcp.LocalEndpoint).Port);
            return new Listener(tcp);
        }
    }

    private sealed class Listener(TcpListener tcp) : IEndpointListener
    {
        public async Task<ISecurableDuplexPipe> GetPipeAsync(SmtpServer.ISessionContext context, CancellationToken cancellationToken)
        {
            var socket = await tcp.AcceptSocketAsync(cancellationToken);
            socket.NoDelay = true;
            return new Pipe(new NetworkStream(socket, ownsSocket: true));
        }

        public void Dispose() => tcp.Stop();
    }

    private sealed class Pipe(Stream stream) : ISecurableDuplexPipe
    {
        private Stream _stream = stream;

        public PipeReader Input { get; private set; } = PipeReader.Create(stream);

        public PipeWriter Output { get; private set; } = PipeWriter.Create(stream);

        public bool IsSecure => _stream is SslStream;

        public SslProtocols SslProtocol => (_stream as SslStream)?.SslProtocol ?? SslProtocols.None;

        public async Task UpgradeAsync(X509Certificate certificate, SslProtocols protocols, CancellationToken cancellationToken = default)
        {
            var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate, EnabledSslProtocols = protocols }, cancellationToken);
            _stream = ssl;
            Input = PipeReader.Create(ssl);
            Output = PipeWriter.Create(ssl);
        }

        public void Dispose()
        {
            Input.Complete();
            Output.Complete();
            _stream.Dispose();
        }
    }
}
