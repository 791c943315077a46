using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Kannon.Tests.Smtp;

/// <summary>A hand-driven SMTP client over a bare socket, for sessions no real client would hold (garbage, overlong lines, dropped connections).</summary>
internal sealed class RawSmtpSession : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;

    private RawSmtpSession(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _reader = new StreamReader(_stream, Encoding.Latin1);
    }

    public string Greeting { get; private set; } = "";

    public static async Task<RawSmtpSession> ConnectAsync(IPEndPoint server, bool readGreeting = true)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(server.Address, server.Port);
        var session = new RawSmtpSession(tcp);
        if (readGreeting)
        {
            session.Greeting = await session.ReplyAsync();
        }

        return session;
    }

    /// <summary>Sends one command line and returns the whole (possibly multi-line) reply.</summary>
    public async Task<string> CommandAsync(string line)
    {
        await WriteAsync(Encoding.Latin1.GetBytes(line + "\r\n"));
        return await ReplyAsync();
    }

    public async Task WriteAsync(byte[] bytes)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _stream.WriteAsync(bytes, timeout.Token);
    }

    /// <summary>The next reply ("250-…" lines up to the final "250 …"); "" when the server closed the connection.</summary>
    public async Task<string> ReplyAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        var reply = new StringBuilder();
        while (true)
        {
            string? line;
            try
            {
                line = await _reader.ReadLineAsync(cancel.Token);
            }
            catch (IOException)
            {
                line = null;
            }

            if (line is null)
            {
                return reply.ToString();
            }

            reply.AppendLine(line);
            if (line.Length < 4 || line[3] != '-')
            {
                return reply.ToString();
            }
        }
    }

    /// <summary>Closes at once, with a reset rather than a goodbye.</summary>
    public void Abort()
    {
        _tcp.Client.LingerState = new LingerOption(true, 0);
        _tcp.Close();
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}
