using System.Net;
using Microsoft.AspNetCore.Http;

namespace Kannon.Tracking;

/// <summary>
/// The address of whoever opened or clicked. Behind a trusted proxy (<c>tracker.trust_proxy</c>) it is the
/// first entry of X-Forwarded-For, else X-Real-IP; otherwise those headers are ignored (anybody can send
/// them) and it is the connection's remote address. Always a bare IP, without a port.
/// </summary>
internal static class ClientAddress
{
    public static string Of(HttpContext context, bool trustProxy)
    {
        if (trustProxy)
        {
            var forwarded = context.Request.Headers["X-Forwarded-For"].ToString();
            var first = forwarded.Split(',', 2)[0].Trim();
            if (Parse(first) is { } fromForwarded)
            {
                return fromForwarded;
            }

            if (Parse(context.Request.Headers["X-Real-IP"].ToString().Trim()) is { } fromRealIp)
            {
                return fromRealIp;
            }
        }

        return context.Connection.RemoteIpAddress is { } remote ? Normalize(remote) : "";
    }

    private static string? Parse(string value) =>
        value.Length > 0 && IPAddress.TryParse(value, out var address) ? Normalize(address) : null;

    private static string Normalize(IPAddress address) =>
        (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();
}
