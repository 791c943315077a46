using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Kannon.Hosting.Embedded;

/// <summary>
/// Loopback TCP ports for servers this process starts (embedded PostgreSQL and NATS, and the tests' servers).
/// A port is picked outside the kernel's ephemeral range: a port the kernel handed out with bind(0) is
/// in that range, so an outgoing connection could take it before the server binds it, and the server
/// would fail with "address in use" (or, worse, a client would reach the wrong peer).
/// </summary>
internal static class FreePort
{
    private const string EphemeralRangeFile = "/proc/sys/net/ipv4/ip_local_port_range";
    private const int Lowest = 10_000;
    private static readonly HashSet<int> HandedOut = [];
    private static readonly (int Low, int High) Range = NonEphemeralRange();

    /// <summary>A loopback port nobody listens on, outside the ephemeral range, never handed out twice by this process.</summary>
    public static int Next()
    {
        lock (HandedOut)
        {
            for (var attempt = 0; attempt < 200; attempt++)
            {
                var port = Random.Shared.Next(Range.Low, Range.High + 1);
                if (!HandedOut.Contains(port) && CanListen(port))
                {
                    HandedOut.Add(port);
                    return port;
                }
            }
        }

        // No free port found in the quiet range (it is tiny or full): fall back to the kernel's choice.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool CanListen(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The widest stretch of [10000, 65535] outside the ephemeral range (Linux default 32768–60999).</summary>
    private static (int Low, int High) NonEphemeralRange()
    {
        var (ephemeralLow, ephemeralHigh) = (32768, 60999);
        try
        {
            var parts = File.ReadAllText(EphemeralRangeFile).Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2)
            {
                ephemeralLow = int.Parse(parts[0], CultureInfo.InvariantCulture);
                ephemeralHigh = int.Parse(parts[1], CultureInfo.InvariantCulture);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            // Not Linux, or unreadable: assume the default range.
        }

        var below = (Low: Lowest, High: ephemeralLow - 1);
        var above = (Low: ephemeralHigh + 1, High: 65535);
        var belowSize = below.High - below.Low;
        var aboveSize = above.High - above.Low;
        return belowSize >= aboveSize && belowSize > 100 ? below : aboveSize > 100 ? above : (1024, 65535);
    }
}
