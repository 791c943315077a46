using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Kannon.Tests.Infrastructure;

/// <summary>
/// A tiny authoritative DNS server over UDP on 127.0.0.1 with a port from the kernel. It answers MX, A and
/// AAAA queries from an in-memory table: NXDOMAIN for names it has never heard of, an empty answer
/// (NODATA) for known names without records of the asked type, SERVFAIL for names marked broken.
/// </summary>
internal sealed class TestDnsServer : IAsyncDisposable
{
    private const ushort TypeA = 1;
    private const ushort TypeMx = 15;
    private const ushort TypeAaaa = 28;
    private const uint Ttl = 60;

    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly ConcurrentDictionary<string, Zone> _names = new(StringComparer.OrdinalIgnoreCase);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _queries;

    public TestDnsServer() => _loop = Task.Run(ServeAsync);

    public IPEndPoint EndPoint => (IPEndPoint)_udp.Client.LocalEndPoint!;

    /// <summary>The <c>sender.dns_servers</c> entry for this server.</summary>
    public string Address => $"127.0.0.1:{EndPoint.Port}";

    public int Queries => Volatile.Read(ref _queries);

    public TestDnsServer Mx(string domain, int preference, string host)
    {
        Name(domain).Mx.Add((preference, host));
        return this;
    }

    /// <summary>RFC 7505: the domain accepts no mail.</summary>
    public TestDnsServer NullMx(string domain) => Mx(domain, 0, ".");

    public TestDnsServer A(string host, string address)
    {
        var ip = IPAddress.Parse(address);
        (ip.AddressFamily == AddressFamily.InterNetworkV6 ? Name(host).Aaaa : Name(host).A).Add(ip);
        return this;
    }

    /// <summary>The name exists but has no records (so MX and A queries get NODATA).</summary>
    public TestDnsServer Exists(string name)
    {
        Name(name);
        return this;
    }

    public TestDnsServer Broken(string name)
    {
        Name(name).ServerFailure = true;
        return this;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp.Dispose();
        try
        {
            await _loop;
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _stop.Dispose();
    }

    private Zone Name(string name) => _names.GetOrAdd(name.TrimEnd('.'), _ => new Zone());

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var request = await _udp.ReceiveAsync(_stop.Token);
            Interlocked.Increment(ref _queries);
            var reply = Answer(request.Buffer);
            if (reply is not null)
            {
                await _udp.SendAsync(reply, request.RemoteEndPoint, _stop.Token);
            }
        }
    }

    private byte[]? Answer(byte[] query)
    {
        if (query.Length < 12 || BinaryPrimitives.ReadUInt16BigEndian(query.AsSpan(4)) != 1)
        {
            return null;
        }

        // The question: a name as labels, then type and class.
        var position = 12;
        var labels = new List<string>();
        while (query[position] != 0)
        {
            var length = query[position];
            labels.Add(Encoding.ASCII.GetString(query, position + 1, length));
            position += length + 1;
        }

        var questionEnd = position + 5;
        var name = string.Join('.', labels);
        var type = BinaryPrimitives.ReadUInt16BigEndian(query.AsSpan(position + 1));

        var answers = new List<byte[]>();
        var code = 0; // NOERROR
        if (!_names.TryGetValue(name, out var zone))
        {
            code = 3; // NXDOMAIN
        }
        else if (zone.ServerFailure)
        {
            code = 2; // SERVFAIL
        }
        else if (type == TypeMx)
        {
            answers.AddRange(zone.Mx.Select(mx => Record(TypeMx, [.. Be16((ushort)mx.Preference), .. EncodeName(mx.Host)])));
        }
        else if (type == TypeA)
        {
            answers.AddRange(zone.A.Select(ip => Record(TypeA, ip.GetAddressBytes())));
        }
        else if (type == TypeAaaa)
        {
            answers.AddRange(zone.Aaaa.Select(ip => Record(TypeAaaa, ip.GetAddressBytes())));
        }

        var reply = new List<byte>(512);
        reply.AddRange(query.AsSpan(0, 2).ToArray());                                  // id
        reply.Add((byte)(0x84 | (query[2] & 0x01)));                                   // QR, AA, RD copied
        reply.Add((byte)(0x80 | code));                                                // RA, RCODE
        reply.AddRange(Be16(1));                                                       // one question
        reply.AddRange(Be16((ushort)answers.Count));
        reply.AddRange(Be16(0));
        reply.AddRange(Be16(0));
        reply.AddRange(query.AsSpan(12, questionEnd - 12).ToArray());
        foreach (var answer in answers)
        {
            reply.AddRange(answer);
        }

        return [.. reply];
    }

    /// <summary>An answer for the question's name (a pointer to offset 12), class IN.</summary>
    private static byte[] Record(ushort type, byte[] data) =>
        [0xC0, 0x0C, .. Be16(type), .. Be16(1), .. Be32(Ttl), .. Be16((ushort)data.Length), .. data];

    private static byte[] EncodeName(string name)
    {
        var bytes = new List<byte>();
        foreach (var label in name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(Encoding.ASCII.GetBytes(label));
        }

        bytes.Add(0);
        return [.. bytes];
    }

    private static byte[] Be16(ushort value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] Be32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }

    private sealed class Zone
    {
        public ConcurrentBag<(int Preference, string Host)> Mx { get; } = [];

        public ConcurrentBag<IPAddress> A { get; } = [];

        public ConcurrentBag<IPAddress> Aaaa { get; } = [];

        public bool ServerFailure { get; set; }
    }
}
