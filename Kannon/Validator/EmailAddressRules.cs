using System.Globalization;
using System.Net;
using System.Text;

namespace Kannon.Validator;

/// <summary>
/// Address syntax per RFC 5321 (dot-atom or quoted local part, domain or address literal) with RFC 6531's
/// UTF-8 local parts and internationalised domains. Case is never a reason to reject (the original's
/// lower-case-only regex turned John@Example.com away).
/// </summary>
internal static class EmailAddressRules
{
    private const string AText = "!#$%&'*+-/=?^_`{|}~";
    private static readonly IdnMapping Idn = new() { UseStd3AsciiRules = true, AllowUnassigned = false };

    public static bool IsValid(string address, out string reason)
    {
        reason = "";
        if (string.IsNullOrEmpty(address) || Encoding.UTF8.GetByteCount(address) > 254)
        {
            reason = "address is empty or longer than 254 octets";
            return false;
        }

        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1)
        {
            reason = "address has no local part or no domain";
            return false;
        }

        var local = address[..at];
        var domain = address[(at + 1)..];
        if (!IsValidLocalPart(local))
        {
            reason = "local part is not a dot-atom or quoted string";
            return false;
        }

        if (!IsValidDomain(domain))
        {
            reason = "domain is not a valid host name or address literal";
            return false;
        }

        return true;
    }

    private static bool IsValidLocalPart(string local)
    {
        if (Encoding.UTF8.GetByteCount(local) > 64)
        {
            return false;
        }

        if (local.Length >= 2 && local[0] == '"' && local[^1] == '"')
        {
            for (var i = 1; i < local.Length - 1; i++)
            {
                var c = local[i];
                if (c == '\\')
                {
                    if (++i >= local.Length - 1 || local[i] < 32 || local[i] == 127)
                    {
                        return false;
                    }
                }
                else if (c == '"' || (c < 128 && (c < 32 || c == 127)))
                {
                    return false;
                }
            }

            return true;
        }

        if (local[0] == '.' || local[^1] == '.' || local.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in local)
        {
            var ok = c == '.' || char.IsAsciiLetterOrDigit(c) || AText.Contains(c, StringComparison.Ordinal)
                || (c >= 128 && !char.IsControl(c) && !char.IsWhiteSpace(c));
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsValidDomain(string domain)
    {
        if (domain.StartsWith('[') && domain.EndsWith(']'))
        {
            var literal = domain[1..^1];
            return literal.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase)
                ? IPAddress.TryParse(literal[5..], out var v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
                : IPAddress.TryParse(literal, out var v4) && v4.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && literal.Count(c => c == '.') == 3;
        }

        string ascii;
        try
        {
            ascii = Idn.GetAscii(domain.TrimEnd('.'));
        }
        catch (ArgumentException)
        {
            return false;
        }

        if (ascii.Length > 253)
        {
            return false;
        }

        var labels = ascii.Split('.');
        if (labels.Length < 2)
        {
            return ascii.Equals("localhost", StringComparison.OrdinalIgnoreCase);
        }

        foreach (var label in labels)
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-'
                || !label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                return false;
            }
        }

        return !labels[^1].All(char.IsAsciiDigit);
    }
}
