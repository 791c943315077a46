using System.Net;
using System.Runtime.InteropServices;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Kannon.Sender;

/// <summary>
/// One message to one recipient over SMTP: find the recipient's MX hosts (or the relay), try them in
/// order on pooled connections, and say what happened as a <see cref="SendOutcome"/>. A 5xx to MAIL,
/// RCPT or DATA bounces; a 4xx or a host we cannot talk to moves on to the next MX, and when none is
/// left the message is retried later.
/// </summary>
internal sealed partial class SmtpDelivery(MxResolver resolver, SmtpConnectionPool pool, IOptions<SenderOptions> options, ILogger<SmtpDelivery> logger)
{
    private static readonly FormatOptions Format = CreateFormat();
    private readonly SenderOptions _options = options.Value;

    public async Task<SendOutcome> SendAsync(string returnPath, string recipient, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (!MailboxAddress.TryParse(recipient, out var to) || string.IsNullOrEmpty(to.LocalPart) || string.IsNullOrEmpty(to.Domain))
        {
            return SendOutcome.Bounce(510, $"5.1.3 invalid recipient address '{recipient}'");
        }

        if (MxResolver.ToAscii(to.Domain) is not { } domain)
        {
            return SendOutcome.Bounce(512, $"5.1.2 invalid recipient domain '{to.Domain}'");
        }

        if (!MailboxAddress.TryParse(returnPath, out var from))
        {
            return SendOutcome.Bounce(553, $"5.1.7 invalid return path '{returnPath}'");
        }

        MimeMessage message;
        long size;
        try
        {
            message = RawMessage.Of(body, out size);
        }
        catch (FormatException e)
        {
            return SendOutcome.Bounce(554, $"5.6.0 the message could not be read: {e.Message}");
        }

        using (message)
        {
            var needsUtf8 = !IsAscii(to.LocalPart) || !IsAscii(from.LocalPart ?? string.Empty);
            return string.IsNullOrWhiteSpace(_options.Relay.Host)
                ? await ToMxAsync(domain, new Transaction(from, to, message, size, needsUtf8), cancellationToken).ConfigureAwait(false)
                : await ToRelayAsync(new Transaction(from, to, message, size, needsUtf8), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<SendOutcome> ToMxAsync(string domain, Transaction transaction, CancellationToken cancellationToken)
    {
        var route = await resolver.ResolveAsync(domain, cancellationToken).ConfigureAwait(false);
        if (route.Failure is { } failure)
        {
            return failure;
        }

        var tls = _options.RequireTls ? SecureSocketOptions.StartTls : SecureSocketOptions.StartTlsWhenAvailable;
        SendOutcome.Retry? last = null;
        foreach (var host in route.Hosts)
        {
            var addresses = await resolver.ResolveHostAsync(host, cancellationToken).ConfigureAwait(false);
            if (addresses.Addresses.Count == 0)
            {
                last = new SendOutcome.Retry(SendOutcome.ConnectionFailureCode, $"MX {host}: {addresses.Error ?? "no A or AAAA record"}");
                continue;
            }

            var outcome = await ThroughAsync(new SmtpDestination(host, _options.Port, tls, ValidateCertificate: _options.RequireTls), addresses.Addresses, transaction, cancellationToken).ConfigureAwait(false);
            if (outcome is not SendOutcome.Retry retry)
            {
                return outcome;
            }

            LogMxFailed(logger, host, retry.Code, retry.Text);
            last = retry;
        }

        return route.Hosts.Count > 1
            ? new SendOutcome.Retry(last!.Code, $"all MXs failed, last error: {last.Text}")
            : last!;
    }

    private async Task<SendOutcome> ToRelayAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        var relay = _options.Relay;
        IReadOnlyList<IPAddress> addresses;
        try
        {
            addresses = IPAddress.TryParse(relay.Host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(relay.Host!, cancellationToken).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            return new SendOutcome.Retry(SendOutcome.ConnectionFailureCode, $"relay {relay.Host}: {e.Message}");
        }

        var (tls, validate) = relay.Tls switch
        {
            "implicit" => (SecureSocketOptions.SslOnConnect, true),
            "opportunistic" => (SecureSocketOptions.StartTlsWhenAvailable, false),
            "none" => (SecureSocketOptions.None, false),
            _ => (SecureSocketOptions.StartTls, true),
        };
        var credentials = string.IsNullOrEmpty(relay.Username) ? null : new NetworkCredential(relay.Username, relay.Password);
        return await ThroughAsync(new SmtpDestination(relay.Host!, relay.Port, tls, validate, credentials), addresses, transaction, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One transaction with one server. A pooled connection that turns out dead before MAIL FROM was accepted is replaced once.</summary>
    private async Task<SendOutcome> ThroughAsync(SmtpDestination destination, IReadOnlyList<IPAddress> addresses, Transaction transaction, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.TransactionTimeout);
            SmtpConnectionPool.Connect connect;
            try
            {
                connect = await pool.AcquireAsync(destination, addresses, fresh: attempt > 1, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return SendOutcome.Unreachable($"{destination.Key}: no connection within {_options.TransactionTimeout}");
            }

            if (connect.Lease is not { } lease)
            {
                return connect.Failure!;
            }

            var client = lease.Client;
            var reusable = false;
            try
            {
                if (transaction.NeedsUtf8 && (client.Capabilities & SmtpCapabilities.UTF8) == 0)
                {
                    reusable = true;
                    return SendOutcome.Bounce(553, $"5.6.7 {transaction.To.Address} needs SMTPUTF8, which {destination.Host} does not offer");
                }

                client.BeginTransaction(transaction.Size);
                await client.SendAsync(Format, transaction.Message, transaction.From, [transaction.To], timeout.Token).ConfigureAwait(false);
                reusable = true;
                return SendOutcome.Success;
            }
            catch (SmtpCommandException e)
            {
                // MailKit answered the failed command with RSET; the connection is clean if it is still open.
                reusable = client.IsConnected;
                var code = (int)e.StatusCode;
                var text = e.Message.Trim();
                return code is >= 500 and < 600 ? SendOutcome.Bounce(code, text) : new SendOutcome.Retry(code, text);
            }
            catch (ServiceNotAuthenticatedException e)
            {
                reusable = client.IsConnected;
                return new SendOutcome.Retry(530, $"{destination.Key}: {e.Message}");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e) when (e is IOException or SmtpProtocolException or OperationCanceledException or ObjectDisposedException or ServiceNotConnectedException)
            {
                if (lease.Reused && !client.SenderAccepted && attempt == 1 && !timeout.IsCancellationRequested)
                {
                    // The server closed an idle connection; nothing of this message reached it.
                    continue;
                }

                return SendOutcome.Unreachable(timeout.IsCancellationRequested
                    ? $"{destination.Key}: no answer within {_options.TransactionTimeout}"
                    : $"{destination.Key}: {e.Message}");
            }
            finally
            {
                lease.Return(reusable);
            }
        }
    }

    /// <summary>
    /// Parses the signed message without changing a byte: MimeKit keeps raw headers and undecoded part
    /// content (persistent, over our buffer), and <see cref="RawSmtpClient"/> stops MailKit from re-encoding.
    /// </summary>
    private static FormatOptions CreateFormat()
    {
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        format.International = false;
        format.HiddenHeaders.Clear();
        format.EnsureNewLine = true;
        return format;
    }

    private static bool IsAscii(string value) => System.Text.Ascii.IsValid(value);

    [LoggerMessage(Level = LogLevel.Information, Message = "MX {Host} failed: {Code} {Reason}")]
    private static partial void LogMxFailed(ILogger logger, string host, int code, string reason);

    private sealed record Transaction(MailboxAddress From, MailboxAddress To, MimeMessage Message, long Size, bool NeedsUtf8);
}
