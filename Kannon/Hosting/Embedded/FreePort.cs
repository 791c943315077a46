using System.Net;
using System.Net.Sockets;

namespace Kannon.Hosting.Embedded;

internal static class FreePort
{
    /// <summary>A loopback TCP port the kernel just handed out; free unless somebody races for it.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
