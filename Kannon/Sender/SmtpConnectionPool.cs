using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Kannon.Sender;

/// <summary>
/// Open SMTP connections per destination (host:port), reused for up to <c>sender.messages_per_connection</c>
/// transactions, at most <c>sender.max_connections_per_host</c> at a time, closed after
/// <c>sender.connection_idle_timeout</c> without use. A connection serves one transaction at a time.
/// </summary>
internal sealed partial class SmtpConnectionPool : IAsyncDisposable
{
    private readonly SenderOptions _options;
    private readonly TimeProvider _time;
    private readonly SenderMetrics _metrics;
    private readonly ILogger<SmtpConnectionPool> _logger;
    private readonly ConcurrentDictionary<string, Destination> _destinations = new(StringComparer.OrdinalIgnoreCase);
    private readonly ITimer _reaper;
    private volatile bool _disposed;

    public SmtpConnectionPool(IOptions<SenderOptions> options, TimeProvider time, SenderMetrics metrics, ILogger<SmtpConnectionPool> logger)
    {
        _options = options.Value;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        var period = TimeSpan.FromTicks(Math.Clamp(_options.ConnectionIdleTimeout.Ticks / 2, TimeSpan.FromMilliseconds(200).Ticks, TimeSpan.FromSeconds(5).Ticks));
        _reaper = time.CreateTimer(_ => CloseIdle(), null, period, period);
    }

    /// <summary>A connection to <paramref name="destination"/>: an idle one, or a new one to the first of <paramref name="addresses"/> that answers.</summary>
    public async Task<Connect> AcquireAsync(SmtpDestination destination, IReadOnlyList<IPAddress> addresses, bool fresh, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var slot = _destinations.GetOrAdd(destination.Key, _ => new Destination(_options.MaxConnectionsPerHost));
        await slot.Slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            while (!fresh && slot.Idle.TryPop(out var idle))
            {
                if (idle.IsConnected && now - idle.LastUsed < _options.ConnectionIdleTimeout)
                {
                    return new Connect(new SmtpLease(this, slot, destination, idle, Reused: true), null);
                }

                Close(idle);
            }

            var (client, failure) = await OpenAsync(destination, addresses, cancellationToken).ConfigureAwait(false);
            if (client is null)
            {
                slot.Slots.Release();
                return new Connect(null, failure);
            }

            return new Connect(new SmtpLease(this, slot, destination, client, Reused: false), null);
        }
        catch
        {
            slot.Slots.Release();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        await _reaper.DisposeAsync().ConfigureAwait(false);
        var closing = new List<Task>();
        foreach (var slot in _destinations.Values)
        {
            while (slot.Idle.TryPop(out var client))
            {
                closing.Add(CloseAsync(client));
            }
        }

        await Task.WhenAll(closing).ConfigureAwait(false);
    }

    /// <summary>Back to the pool when it can carry another transaction, else closed; frees the destination's slot either way.</summary>
    internal void Release(SmtpLease lease, bool reusable)
    {
        var client = lease.Client;
        var current = _destinations.TryGetValue(lease.Destination.Key, out var registered) && ReferenceEquals(registered, lease.Slot);
        if (reusable && current && !_disposed && client.IsConnected && client.Transactions < _options.MessagesPerConnection)
        {
            client.LastUsed = _time.GetUtcNow();
            lease.Slot.LastUsed = client.LastUsed;
            lease.Slot.Idle.Push(client);
        }
        else
        {
            Close(client);
        }

        lease.Slot.Slots.Release();
    }

    private async Task<(RawSmtpClient? Client, SendOutcome.Retry? Failure)> OpenAsync(SmtpDestination destination, IReadOnlyList<IPAddress> addresses, CancellationToken cancellationToken)
    {
        SendOutcome.Retry? failure = null;
        foreach (var address in addresses.Take(4))
        {
            var tls = destination.Tls;
            for (var plainAfterTlsFailure = false; ; plainAfterTlsFailure = true)
            {
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                var client = new RawSmtpClient
                {
                    LocalDomain = _options.Hostname,
                    Timeout = (int)Math.Min(int.MaxValue, _options.TransactionTimeout.TotalMilliseconds),
                    CheckCertificateRevocation = false,
                };
                if (!destination.ValidateCertificate)
                {
                    // Opportunistic TLS (RFC 7435): encryption against passive listeners; a certificate we cannot verify is still better than plain text.
                    client.ServerCertificateValidationCallback = (_, _, _, _) => true;
                }

                var endpoint = $"{destination.Host}[{address}]:{destination.Port}";
                try
                {
                    using (var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                    {
                        connect.CancelAfter(_options.ConnectTimeout);
                        try
                        {
                            await socket.ConnectAsync(new IPEndPoint(address, destination.Port), connect.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                        {
                            throw new TimeoutException($"no connection within {_options.ConnectTimeout.TotalSeconds:0.#}s");
                        }
                    }

                    await client.ConnectAsync(socket, destination.Host, destination.Port, tls, cancellationToken).ConfigureAwait(false);
                    if (destination.Credentials is { } credentials)
                    {
                        await client.AuthenticateAsync(credentials, cancellationToken).ConfigureAwait(false);
                    }

                    _metrics.ConnectionOpened(destination.Host, client.IsSecure);
                    LogConnected(_logger, endpoint, client.IsSecure);
                    client.LastUsed = _time.GetUtcNow();
                    return (client, null);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    Discard(client, socket);
                    throw;
                }
                catch (SslHandshakeException e) when (tls == SecureSocketOptions.StartTlsWhenAvailable && !plainAfterTlsFailure)
                {
                    // Opportunistic: a server whose TLS is broken still gets the mail, in plain text, as Postfix does.
                    Discard(client, socket);
                    LogTlsFallback(_logger, endpoint, e.Message);
                    tls = SecureSocketOptions.None;
                    continue;
                }
                catch (Exception e) when (IsConnectFailure(e))
                {
                    Discard(client, socket);
                    failure = Failure(endpoint, e);
                    LogConnectFailed(_logger, endpoint, failure.Text);
                }

                break;
            }
        }

        return (null, failure ?? new SendOutcome.Retry(SendOutcome.ConnectionFailureCode, $"{destination.Host}: no address to connect to"));
    }

    private static SendOutcome.Retry Failure(string endpoint, Exception e) => e switch
    {
        // A greeting or EHLO refused with 4xx keeps its code; anything else before MAIL FROM is "could not talk to it".
        SmtpCommandException { StatusCode: var status } when (int)status is >= 400 and < 500 => new SendOutcome.Retry((int)status, $"{endpoint}: {(int)status} {e.Message.Trim()}"),
        SmtpCommandException { StatusCode: var status } => new SendOutcome.Retry(SendOutcome.ConnectionFailureCode, $"{endpoint}: {(int)status} {e.Message.Trim()}"),
        NotSupportedException => new SendOutcome.Retry(SendOutcome.ConnectionFailureCode, $"{endpoint}: TLS required but the server does not offer STARTTLS"),
        SocketException s => new SendOutcome.Retry(SendOutcome.ConnectionFailureCode, $"{endpoint}: {s.SocketErrorCode}: {s.Message}"),
        _ => new SendOutcome.Retry(SendOutcome.ConnectionFailureCode, $"{endpoint}: {e.Message}"),
    };

    private static bool IsConnectFailure(Exception e) =>
        e is SocketException or IOException or TimeoutException or SmtpCommandException or SmtpProtocolException
            or SslHandshakeException or AuthenticationException or NotSupportedException or OperationCanceledException
            or ServiceNotAuthenticatedException or ServiceNotConnectedException;

    private static void Discard(RawSmtpClient client, Socket socket)
    {
        client.Dispose();
        socket.Dispose();
    }

    private void CloseIdle()
    {
        var now = _time.GetUtcNow();
        foreach (var (key, slot) in _destinations)
        {
            if (slot.Idle.IsEmpty)
            {
                if (now - slot.LastUsed > TimeSpan.FromMinutes(1) && slot.Slots.CurrentCount == _options.MaxConnectionsPerHost)
                {
                    _destinations.TryRemove(new KeyValuePair<string, Destination>(key, slot));
                }

                continue;
            }

            var keep = new List<RawSmtpClient>();
            while (slot.Idle.TryPop(out var client))
            {
                if (client.IsConnected && now - client.LastUsed < _options.ConnectionIdleTimeout)
                {
                    keep.Add(client);
                }
                else
                {
                    Close(client);
                }
            }

            // Most recently used stays on top, so busy periods reuse the warmest connections.
            for (var i = keep.Count - 1; i >= 0; i--)
            {
                slot.Idle.Push(keep[i]);
            }
        }
    }

    private void Close(RawSmtpClient client) => _ = CloseAsync(client);

    private static async Task CloseAsync(RawSmtpClient client)
    {
        try
        {
            if (client.IsConnected)
            {
                using var quit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await client.DisconnectAsync(quit: true, quit.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SmtpProtocolException or SmtpCommandException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            client.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "SMTP connection to {Endpoint} open (TLS: {Secure})")]
    private static partial void LogConnected(ILogger logger, string endpoint, bool secure);

    [LoggerMessage(Level = LogLevel.Information, Message = "SMTP connection to {Endpoint} failed: {Reason}")]
    private static partial void LogConnectFailed(ILogger logger, string endpoint, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "STARTTLS with {Endpoint} failed ({Reason}); delivering without TLS")]
    private static partial void LogTlsFallback(ILogger logger, string endpoint, string reason);

    internal sealed class Destination(int maxConnections)
    {
        public SemaphoreSlim Slots { get; } = new(maxConnections, maxConnections);

        public ConcurrentStack<RawSmtpClient> Idle { get; } = new();

        public DateTimeOffset LastUsed { get; set; } = DateTimeOffset.UtcNow;
    }

    /// <summary>A connection, or why none could be opened.</summary>
    internal readonly record struct Connect(SmtpLease? Lease, SendOutcome.Retry? Failure);
}
