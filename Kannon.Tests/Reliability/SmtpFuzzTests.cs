using System.Collections.Concurrent;
using System.Text;
using Kannon.Tests.Infrastructure;
using Kannon.Tests.Smtp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit.Abstractions;

namespace Kannon.Tests.Reliability;

/// <summary>
/// Port 25 is open to the internet: a thousand malformed sessions (garbage, bad commands, overlong lines, pipelining
/// abuse, connections cut mid-command and mid-DATA, huge headers, bad base64, broken MIME) must neither take the
/// inbound SMTP server down nor keep it from taking the next real delivery report.
/// </summary>
public sealed class SmtpFuzzTests(PostgresFixture postgres, NatsFixture nats, ITestOutputHelper output)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private const int Seed = 20261202;
    private const int Sessions = 1_000;
    private const int Parallel = 16;
    private const int MaxPayload = 65536;
    private const int MaxRecipients = 50;

    private SmtpHarness _smtp = null!;

    public async Task InitializeAsync() => _smtp = await SmtpHarness.StartAsync(postgres, nats, new Dictionary<string, string?>
    {
        ["smtp:max_payload"] = MaxPayload.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["smtp:max_recipients"] = MaxRecipients.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["smtp:read_timeout"] = "2s",
    });

    public async Task DisposeAsync() => await _smtp.DisposeAsync();

    [Fact]
    public async Task A_thousand_malformed_sessions_leave_the_server_taking_the_next_delivery_report()
    {
        (string Name, Func<Random, int, Task<string>> Run)[] kinds =
        [
            ("garbage bytes", GarbageBytesAsync),
            ("bad commands", GarbageCommandsAsync),
            ("overlong line", OversizedLineAsync),
            ("overlong address", OverlongAddressAsync),
            ("cut before greeting", DisconnectBeforeGreetingAsync),
            ("cut mid-command", DisconnectMidCommandAsync),
            ("cut mid-DATA", DisconnectInsideDataAsync),
            ("pipelining abuse", PipeliningAbuseAsync),
            ("too many recipients", TooManyRecipientsAsync),
            ("broken MIME", BadMimeAsync),
            ("bad base64", BadBase64Async),
            ("huge headers", HugeHeadersAsync),
            ("binary DATA", BinaryDataAsync),
            ("too much DATA", HugeDataAsync),
            ("unoffered extensions", UnofferedExtensionsAsync),
        ];
        var counts = new ConcurrentDictionary<string, int>();
        using var gate = new SemaphoreSlim(Parallel);
        var sessions = Enumerable.Range(0, Sessions).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var random = new Random(Seed + i);
                var (name, run) = kinds[i % kinds.Length];
                var outcome = await run(random, i);
                counts.AddOrUpdate($"{name}: {outcome}", 1, (_, n) => n + 1);
            }
            finally
            {
                gate.Release();
            }
        });

        await Task.WhenAll(sessions);

        foreach (var (what, count) in counts.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"{count,5}  {what}");
        }

        counts.Values.Sum().Should().Be(Sessions);
        _smtp.Host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested
            .Should().BeFalse("the host is still running");
        var recipient = "survivor@example.org";
        var returnPath = _smtp.ReturnPath(recipient);
        await _smtp.SendAsync(DeliveryReportMessages.Dsn(returnPath, recipient, "failed", "5.1.1", "smtp; 550 5.1.1 user unknown"), returnPath);
        var bounces = await _smtp.OutcomesAsync(s => s.Email == recipient);
        bounces.Should().ContainSingle().Which.Event.Data.Bounced.Code.Should().Be(550u);
    }

    private async Task<string> GarbageBytesAsync(Random random, int i)
    {
        await using var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        var junk = new byte[random.Next(1, 8192)];
        random.NextBytes(junk);
        await IgnoreIoAsync(() => session.WriteAsync(junk));
        return Classify(await ReplyOrClosedAsync(session, TimeSpan.FromSeconds(5)));
    }

    private async Task<string> GarbageCommandsAsync(Random random, int i)
    {
        string[] commands =
        [
            "FOO BAR", "DATA", "RCPT TO:<x@y>", "MAIL FROM:<<<>>", "HELO", "MAIL FROM:<>", "DATA", "\u00ff\u00fe", "EHLO \0\0\0",
            "MAIL FROM:<>  SIZE=-1", "MAIL FROM:<> BODY=8BITMIME SMTPUTF8 XYZ=1", "RCPT TO:", "RCPT TO:<@route:a@b>", "VRFY root",
            "EXPN staff", "HELP", "NOOP", "RSET", "AUTH PLAIN AAAA", "mail from:<>", "RCPT  TO :<a@b>", "QUIT",
        ];
        await using var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        for (var n = random.Next(3, 15); n > 0; n--)
        {
            var command = commands[random.Next(commands.Length)];
            var reply = await session.CommandAsync(command);
            if (reply.Length == 0)
            {
                return "closed by the server";   // it may end a session that keeps erring
            }

            reply.Should().MatchRegex("^[2-5][0-9][0-9][ -]", $"'{command}' gets an SMTP reply");
            if (command == "QUIT")
            {
                return "quit";
            }
        }

        return "answered";
    }

    private async Task<string> OversizedLineAsync(Random random, int i)
    {
        await using var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        await IgnoreIoAsync(() => session.WriteAsync(Encoding.ASCII.GetBytes("EHLO " + new string('a', random.Next(2, 4) * MaxPayload) + "\r\n")));
        var reply = await ReplyOrClosedAsync(session, TimeSpan.FromSeconds(10));
        reply.Should().NotBeNull("an overlong line is answered or the session ended");
        (reply!.Length == 0 || reply[0] is '5').Should().BeTrue($"an oversized line is refused or the session ended, not '{reply}'");
        return Classify(reply);
    }

    private async Task<string> OverlongAddressAsync(Random random, int i)
    {
        await using var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        await session.CommandAsync("EHLO mx.example.net");
        await session.CommandAsync("MAIL FROM:<>");
        var local = new string('l', random.Next(65, 900));
        var reply = await session.CommandAsync($"RCPT TO:<{local}@{new string('d', random.Next(1, 300))}.example>");
        (reply.Length == 0 || reply[0] is '5').Should().BeTrue($"an address no mailbox can have is refused, not '{reply}'");
        return Classify(reply);
    }

    private async Task<string> DisconnectBeforeGreetingAsync(Random random, int i)
    {
        var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint, readGreeting: false);
        session.Abort();
        return "aborted";
    }

    private async Task<string> DisconnectMidCommandAsync(Random random, int i)
    {
        var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        await session.CommandAsync("EHLO mx.example.net");
        string[] halves = ["MAIL FR", "MAIL FROM:<", "RCPT TO:<a@", "DA", "EHLO mx.exa"];
        await session.WriteAsync(Encoding.ASCII.GetBytes(halves[random.Next(halves.Length)]));
        session.Abort();
        return "aborted";
    }

    private async Task<string> DisconnectInsideDataAsync(Random random, int i)
    {
        var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        await session.CommandAsync("EHLO mx.example.net");
        await session.CommandAsync("MAIL FROM:<>");
        await session.CommandAsync($"RCPT TO:<{_smtp.ReturnPath($"cut{i}@example.org")}>");
        await session.CommandAsync("DATA");
        var report = Encoding.ASCII.GetBytes(DeliveryReportMessages.Dsn(_smtp.ReturnPath($"cut{i}@example.org"), $"cut{i}@example.org", "failed", "5.1.1", "smtp; 550"));
        await session.WriteAsync(report[..random.Next(1, report.Length)]);
        session.Abort();
        return "aborted";
    }

    /// <summary>Every command of a transaction in one write, without waiting for replies, some of them out of order.</summary>
    private async Task<string> PipeliningAbuseAsync(Random random, int i)
    {
        await using var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        var script = new StringBuilder("EHLO mx.example.net\r\n");
        if (random.Next(2) == 0)
        {
            script.Append("DATA\r\n");   // before MAIL: refused, and what follows is commands again
        }

        script.Append("MAIL FROM:<>\r\n");
        for (var n = random.Next(1, 10); n > 0; n--)
        {
            script.Append($"RCPT TO:<{_smtp.ReturnPath($"pipe{i}-{n}@example.org")}>\r\n");
        }

        script.Append("DATA\r\nSubject: pipelined\r\n\r\nnot a report\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n");
        await IgnoreIoAsync(() => session.WriteAsync(Encoding.ASCII.GetBytes(script.ToString())));
        var replies = 0;
        for (var reply = await ReplyOrClosedAsync(session, TimeSpan.FromSeconds(10)); reply is { Length: > 0 } && replies < 100; reply = await ReplyOrClosedAsync(session, TimeSpan.FromSeconds(10)))
        {
            reply.Should().MatchRegex("^[2-5][0-9][0-9][ -]", "every pipelined command gets an SMTP reply");
            replies++;
        }

        replies.Should().BeGreaterThan(0, "the server answers a pipelined script");
        return "answered";
    }

    private async Task<string> TooManyRecipientsAsync(Random random, int i)
    {
        await using var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        await session.CommandAsync("EHLO mx.example.net");
        await session.CommandAsync("MAIL FROM:<>");
        var refused = 0;
        for (var n = 0; n < MaxRecipients + 10; n++)
        {
            var reply = await session.CommandAsync($"RCPT TO:<{_smtp.ReturnPath($"many{i}-{n}@example.org")}>");
            if (reply.Length == 0)
            {
                return "closed by the server";
            }

            refused += reply[0] is '4' or '5' ? 1 : 0;
        }

        refused.Should().BeGreaterThanOrEqualTo(10, $"smtp.max_recipients is {MaxRecipients}");
        (await session.CommandAsync("QUIT")).Should().StartWith("221");
        return "refused past the limit";
    }

    private Task<string> BadMimeAsync(Random random, int i)
    {
        string[] bodies =
        [
            "Content-Type: multipart/report; report-type=delivery-status\r\n\r\nno boundary at all\r\n",
            "Content-Type: multipart/report; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n\u0000\u0001\u0002 Action: \r\n Status: 9.9\r\n--b\r\n",
            "\r\n\r\n\r\n",
            "Content-Type: multipart/mixed; boundary=a\r\n\r\n" + string.Concat(Enumerable.Repeat("--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n", 500)),
            "Content-Type: text/plain; charset=no-such-charset\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\nDiagnostic-Code: smtp; 5",
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"x\"\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\n"
                + "Final-Recipient: rfc822;\r\nAction: failed\r\nStatus: 5.\r\nDiagnostic-Code: smtp; 99999999999999999999\r\n--x--\r\n",
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"x\"\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\n"
                + string.Concat(Enumerable.Repeat("Final-Recipient: rfc822; a@b\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n", 300)) + "--x--\r\n",
            "Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\n",
        ];
        return DataAsync(bodies[random.Next(bodies.Length)], i);
    }

    private Task<string> BadBase64Async(Random random, int i)
    {
        string[] encoded = ["!!!!not base64!!!!", "QUJD=", "====", "QUJDRA==QUJD", "\u00e9\u00e9\u00e9", new string('A', 5001)];
        var body = "Content-Type: multipart/report; report-type=delivery-status; boundary=\"x\"\r\n\r\n--x\r\n"
            + "Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + encoded[random.Next(encoded.Length)] + "\r\n--x--\r\n";
        return DataAsync(body, i);
    }

    private Task<string> HugeHeadersAsync(Random random, int i)
    {
        var folded = new StringBuilder("X-Huge: start");
        for (var n = random.Next(100, 700); n > 0; n--)
        {
            folded.Append("\r\n\t").Append(new string('h', 70));
        }

        var many = string.Concat(Enumerable.Range(0, random.Next(10, 400)).Select(n => $"X-Header-{n}: {n}\r\n"));
        return DataAsync($"{folded}\r\n{many}Subject: huge headers\r\n\r\nbody\r\n", i, allowTooBig: true);
    }

    /// <summary>Random bytes inside DATA: NULs, bare CRs and LFs, 8-bit, lines that look like the end of DATA but are not.</summary>
    private async Task<string> BinaryDataAsync(Random random, int i)
    {
        var junk = new byte[random.Next(1, 16_384)];
        random.NextBytes(junk);
        // Dot-stuffed after any line end the server might count (CRLF, bare LF, bare CR), so DATA ends where we end it.
        var body = Encoding.Latin1.GetString(junk).Replace("\n.", "\n..", StringComparison.Ordinal).Replace("\r.", "\r..", StringComparison.Ordinal);
        return await DataAsync("Subject: binary\r\n\r\n" + body + "\r\n", i, allowTooBig: true);
    }

    private async Task<string> HugeDataAsync(Random random, int i)
    {
        await using var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        await session.CommandAsync("EHLO mx.example.net");
        await session.CommandAsync("MAIL FROM:<>");
        await session.CommandAsync($"RCPT TO:<{_smtp.ReturnPath($"huge{i}@example.org")}>");
        await session.CommandAsync("DATA");
        var chunk = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(new string('y', 998) + "\r\n", 64)));
        for (var written = 0; written < 3 * MaxPayload; written += chunk.Length)
        {
            if (!await IgnoreIoAsync(() => session.WriteAsync(chunk)))
            {
                break;   // the server closed on us: also a refusal
            }
        }

        await IgnoreIoAsync(() => session.WriteAsync(Encoding.ASCII.GetBytes("\r\n.\r\n")));
        var reply = await ReplyOrClosedAsync(session, TimeSpan.FromSeconds(10)) ?? "(no reply)";
        (reply.Length == 0 || reply.StartsWith("552", StringComparison.Ordinal)).Should().BeTrue($"too much DATA is refused with 552, not '{reply}'");
        return Classify(reply);
    }

    private async Task<string> UnofferedExtensionsAsync(Random random, int i)
    {
        string[] commands = ["STARTTLS", "BDAT 10 LAST", "AUTH LOGIN", "ETRN example.org", "ATRN", "TURN", "XCLIENT NAME=x", "CHUNKING"];
        await using var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        await session.CommandAsync("EHLO mx.example.net");
        var reply = await session.CommandAsync(commands[random.Next(commands.Length)]);
        (reply.Length == 0 || reply[0] is '4' or '5').Should().BeTrue($"an extension the server did not offer is refused, not '{reply}'");
        return Classify(reply);
    }

    /// <summary>One transaction carrying <paramref name="body"/> to a return path the server takes mail for: taken or refused, never a dropped connection.</summary>
    private async Task<string> DataAsync(string body, int i, bool allowTooBig = false)
    {
        await using var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        await session.CommandAsync("EHLO mx.example.net");
        await session.CommandAsync("MAIL FROM:<>");
        await session.CommandAsync($"RCPT TO:<{_smtp.ReturnPath($"bad{i}@example.org")}>");
        (await session.CommandAsync("DATA")).Should().StartWith("354");
        await IgnoreIoAsync(() => session.WriteAsync(Encoding.Latin1.GetBytes(body + "\r\n.\r\n")));
        var reply = await ReplyOrClosedAsync(session, TimeSpan.FromSeconds(20)) ?? "(no reply)";
        reply.Should().MatchRegex(allowTooBig ? "^(250|554|552) " : "^(250|554) ", "a bad message is taken or refused, never a dropped connection");
        (await session.CommandAsync("QUIT")).Should().StartWith("221");
        return Classify(reply);
    }

    private static string Classify(string? reply) => reply switch
    {
        null => "no reply in time",
        "" => "closed by the server",
        _ => reply[..Math.Min(3, reply.Length)],
    };

    /// <summary>The next reply, "" when the server closed the connection, null when it said nothing in time (it waits for a line end).</summary>
    private static async Task<string?> ReplyOrClosedAsync(RawSmtpSession session, TimeSpan timeout)
    {
        try
        {
            return await session.ReplyAsync(timeout);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static async Task<bool> IgnoreIoAsync(Func<Task> io)
    {
        try
        {
            await io();
            return true;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
