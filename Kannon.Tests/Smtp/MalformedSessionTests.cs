using System.Diagnostics;
using System.Text;
using Kannon.Tests.Infrastructure;

namespace Kannon.Tests.Smtp;

/// <summary>Port 25 is open to the internet: nothing a peer sends may take the server down or keep it from the next session.</summary>
public sealed class MalformedSessionTests(PostgresFixture postgres, NatsFixture nats)
    : IClassFixture<PostgresFixture>, IClassFixture<NatsFixture>, IAsyncLifetime
{
    private const int MaxPayload = 65536;

    private SmtpHarness _smtp = null!;

    public async Task InitializeAsync() => _smtp = await SmtpHarness.StartAsync(postgres, nats, new Dictionary<string, string?>
    {
        ["smtp:max_payload"] = MaxPayload.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["smtp:read_timeout"] = "2s",
    });

    public async Task DisposeAsync() => await _smtp.DisposeAsync();

    [Fact]
    public async Task Two_hundred_malformed_sessions_leave_the_server_answering_the_next_valid_one()
    {
        Func<int, Task>[] kinds =
        [
            GarbageBytesAsync,
            GarbageCommandsAsync,
            OversizedLineAsync,
            DisconnectBeforeGreetingAsync,
            DisconnectInsideDataAsync,
            BadMimeAsync,
            HugeDataAsync,
            ResetAfterEhloAsync,
        ];
        using var parallel = new SemaphoreSlim(16);
        var sessions = Enumerable.Range(0, 200).Select(async i =>
        {
            await parallel.WaitAsync();
            try
            {
                await kinds[i % kinds.Length](i);
            }
            finally
            {
                parallel.Release();
            }
        });

        await Task.WhenAll(sessions);

        var recipient = "survivor@example.org";
        var returnPath = _smtp.ReturnPath(recipient);
        await _smtp.SendAsync(DeliveryReportMessages.Dsn(returnPath, recipient, "failed", "5.1.1", "smtp; 550 5.1.1 user unknown"), returnPath);
        var bounces = await _smtp.OutcomesAsync(s => s.Email == recipient);
        bounces.Should().ContainSingle().Which.Event.Data.Bounced.Code.Should().Be(550u);
    }

    [Fact]
    public async Task An_idle_session_is_closed_after_the_read_timeout()
    {
        await using var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        await session.CommandAsync("EHLO mx.example.net");
        var watch = Stopwatch.StartNew();

        var last = await session.ReplyAsync(TimeSpan.FromSeconds(30));
        while (last.Length > 0)
        {
            last = await session.ReplyAsync(TimeSpan.FromSeconds(30));
        }

        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(15), "smtp.read_timeout is 2s");
    }

    private async Task GarbageBytesAsync(int i)
    {
        await using var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        var junk = new byte[4096];
        new Random(i).NextBytes(junk);
        await IgnoreIoAsync(() => session.WriteAsync(junk));
        await IgnoreIoAsync(() => session.ReplyAsync(TimeSpan.FromSeconds(5)));
    }

    private async Task GarbageCommandsAsync(int i)
    {
        await using var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        foreach (var command in new[] { "FOO BAR", "DATA", "RCPT TO:<x@y>", "MAIL FROM:<<<>>", "HELO", "MAIL FROM:<>", "DATA", "\u00ff\u00fe", "QUIT" })
        {
            var reply = await session.CommandAsync(command);
            if (reply.Length == 0)
            {
                return;   // the server may end a session that keeps erring
            }

            reply[0].Should().BeOneOf(['2', '3', '4', '5'], $"'{command}' gets an SMTP reply");
        }
    }

    private async Task OversizedLineAsync(int i)
    {
        await using var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        await IgnoreIoAsync(() => session.WriteAsync(Encoding.ASCII.GetBytes("EHLO " + new string('a', 2 * MaxPayload) + "\r\n")));
        var reply = await session.ReplyAsync(TimeSpan.FromSeconds(10));
        (reply.Length == 0 || reply[0] is '5').Should().BeTrue($"an oversized line is refused or the session ended, not '{reply}'");
    }

    private async Task DisconnectBeforeGreetingAsync(int i)
    {
        var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint, readGreeting: false);
        session.Abort();
    }

    private async Task DisconnectInsideDataAsync(int i)
    {
        var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        await session.CommandAsync("EHLO mx.example.net");
        await session.CommandAsync("MAIL FROM:<>");
        await session.CommandAsync($"RCPT TO:<{_smtp.ReturnPath($"cut{i}@example.org")}>");
        await session.CommandAsync("DATA");
        await session.WriteAsync(Encoding.ASCII.GetBytes("Subject: half\r\nContent-Type: multipart/report; boundary=x\r\n\r\n--x\r\nAction: fai"));
        session.Abort();
    }

    private async Task BadMimeAsync(int i)
    {
        string[] bodies =
        [
            "Content-Type: multipart/report; report-type=delivery-status\r\n\r\nno boundary at all\r\n",
            "Content-Type: multipart/report; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n\u0000\u0001\u0002 Action: \r\n Status: 9.9\r\n--b\r\n",
            "Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!not base64!!!!\r\n",
            "\r\n\r\n\r\n",
            "Content-Type: multipart/mixed; boundary=a\r\n\r\n" + string.Concat(Enumerable.Repeat("--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n", 500)),
            "Content-Type: text/plain; charset=no-such-charset\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\nDiagnostic-Code: smtp; 5",
        ];
        await using var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        await session.CommandAsync("EHLO mx.example.net");
        await session.CommandAsync("MAIL FROM:<>");
        await session.CommandAsync($"RCPT TO:<{_smtp.ReturnPath($"bad{i}@example.org")}>");
        (await session.CommandAsync("DATA")).Should().StartWith("354");
        await session.WriteAsync(Encoding.Latin1.GetBytes(bodies[i % bodies.Length] + "\r\n.\r\n"));
        var reply = await session.ReplyAsync();
        reply.Should().MatchRegex("^(250|554) ", "a bad message is taken or refused, never a dropped connection");
        (await session.CommandAsync("QUIT")).Should().StartWith("221");
    }

    private async Task HugeDataAsync(int i)
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
        var reply = await session.ReplyAsync(TimeSpan.FromSeconds(10));
        (reply.Length == 0 || reply.StartsWith("552", StringComparison.Ordinal)).Should().BeTrue($"too much DATA is refused with 552, not '{reply}'");
    }

    private async Task ResetAfterEhloAsync(int i)
    {
        var session = await RawSmtpSession.ConnectAsync(_smtp.Endpoint);
        await session.CommandAsync("EHLO mx.example.net");
        await session.WriteAsync(Encoding.ASCII.GetBytes("MAIL FROM:<>\r\nRCPT TO:<a@b>\r\nDATA\r\n"));
        session.Abort();
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
