using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Kannon.Tests.Infrastructure;

/// <summary>
/// The cheapest SMTP server that still speaks the protocol as a real MX does (EHLO with PIPELINING and
/// CHUNKING, all pipelined replies in one write, DATA to the dot line, BDAT by count), taking everything.
/// It keeps a count, and the bytes of each message only when asked. For benchmarks, where the receiving
/// side must not eat the cores the Sender is measured on, and for the BDAT path of the Sender.
/// </summary>
internal sealed class SmtpSink : IAsyncDisposable
{
    private static readonly byte[] Greeting = "220 sink.test ESMTP\r\n"u8.ToArray();
    private static readonly byte[] Ehlo = "250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 52428800\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n"u8.ToArray();
    private static readonly byte[] Ok = "250 2.0.0 ok\r\n"u8.ToArray();
    private static readonly byte[] StartData = "354 go ahead\r\n"u8.ToArray();
    private static readonly byte[] Bye = "221 bye\r\n"u8.ToArray();
    private static readonly byte[] EndOfData = "\r\n.\r\n"u8.ToArray();

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly System.Collections.Concurrent.ConcurrentQueue<(string Command, byte[] Raw)> _kept = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _messages;
    private int _connections;

    public SmtpSink()
    {
        _listener.Start(1024);
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Messages => Volatile.Read(ref _messages);

    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Keep each message's bytes (DATA unstuffed, BDAT as sent) in <see cref="Kept"/>.</summary>
    public bool KeepMessages { get; init; }

    /// <summary>The kept messages, with the command that carried them ("DATA" or "BDAT").</summary>
    public IReadOnlyList<(string Command, byte[] Raw)> Kept => [.. _kept];

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var socket = await _listener.AcceptSocketAsync(_stop.Token);
            socket.NoDelay = true;
            Interlocked.Increment(ref _connections);
            _ = ServeAsync(socket);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        var reader = PipeReader.Create(stream);
        var replies = new ArrayBufferWriter<byte>();
        try
        {
            await stream.WriteAsync(Greeting, _stop.Token);
            var inData = false;
            long chunk = -1;
            var lastChunk = false;
            var chunks = new List<byte>();
            while (true)
            {
                var read = await reader.ReadAsync(_stop.Token);
                var buffer = read.Buffer;
                var quit = false;
                while (true)
                {
                    if (chunk >= 0)
                    {
                        if (buffer.Length < chunk)
                        {
                            break;
                        }

                        if (KeepMessages)
                        {
                            chunks.AddRange(buffer.Slice(0, chunk).ToArray());
                        }

                        buffer = buffer.Slice(chunk);
                        chunk = -1;
                        if (lastChunk)
                        {
                            Interlocked.Increment(ref _messages);
                            Keep("BDAT", [.. chunks]);
                            chunks.Clear();
                        }

                        replies.Write(Ok);
                        continue;
                    }

                    if (inData)
                    {
                        // The body ends at CRLF "." CRLF; an empty body is the dot line alone.
                        var end = buffer.Length >= 3 && buffer.Slice(0, 3).ToArray() is [(byte)'.', (byte)'\r', (byte)'\n']
                            ? 3
                            : Find(buffer, EndOfData) is var at and >= 0 ? at + EndOfData.Length : -1;
                        if (end < 0)
                        {
                            break;
                        }

                        if (KeepMessages)
                        {
                            Keep("DATA", Unstuff(buffer.Slice(0, end - 3).ToArray()));
                        }

                        buffer = buffer.Slice(end);
                        Interlocked.Increment(ref _messages);
                        replies.Write(Ok);
                        inData = false;
                        continue;
                    }

                    if (buffer.PositionOf((byte)'\n') is not { } newline)
                    {
                        break;
                    }

                    var line = Encoding.ASCII.GetString(buffer.Slice(0, newline));
                    buffer = buffer.Slice(buffer.GetPosition(1, newline));
                    var verb = line.Length >= 4 ? line[..4].ToUpperInvariant() : line.ToUpperInvariant();
                    switch (verb)
                    {
                        case "EHLO":
                            replies.Write(Ehlo);
                            break;
                        case "BDAT":
                            // BDAT <size> [LAST]: exactly size bytes follow, no dot-stuffing.
                            var words = line.TrimEnd('\r').Split(' ', StringSplitOptions.RemoveEmptyEntries);
                            chunk = long.Parse(words[1], System.Globalization.CultureInfo.InvariantCulture);
                            lastChunk = words.Length > 2 && words[2].Equals("LAST", StringComparison.OrdinalIgnoreCase);
                            break;
                        case "DATA":
                            replies.Write(StartData);
                            inData = true;
                            break;
                        case "QUIT":
                            replies.Write(Bye);
                            quit = true;
                            break;
                        default:
                            replies.Write(Ok);
                            break;
                    }

                    if (quit)
                    {
                        break;
                    }
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (replies.WrittenCount > 0)
                {
                    // Every reply the client pipelined, in one write, as Postfix does.
                    await stream.WriteAsync(replies.WrittenMemory, _stop.Token);
                    replies.Clear();
                }

                if (quit || read.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private void Keep(string command, byte[] raw)
    {
        if (KeepMessages)
        {
            _kept.Enqueue((command, raw));
        }
    }

    /// <summary>DATA content as sent, minus the dot-stuffing: a line that starts with ".." started with ".".</summary>
    private static byte[] Unstuff(byte[] data)
    {
        var text = Encoding.Latin1.GetString(data);
        text = (text.StartsWith("..", StringComparison.Ordinal) ? text[1..] : text).Replace("\r\n..", "\r\n.", StringComparison.Ordinal);
        return Encoding.Latin1.GetBytes(text);
    }

    private static long Find(ReadOnlySequence<byte> buffer, byte[] needle)
    {
        var reader = new SequenceReader<byte>(buffer);
        return reader.TryReadTo(out ReadOnlySequence<byte> before, needle, advancePastDelimiter: false) ? before.Length : -1;
    }
}
