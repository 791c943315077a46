using System.Text;

namespace Kannon.Envelopes;

/// <summary>
/// The original's identifier formats (UPSTREAM.md §4.1): the Message-ID / Envelope id
/// <c>&lt;base64url(recipient)/batch id&gt;</c> and the Batch id <c>msg_&lt;id&gt;@&lt;domain&gt;</c>.
/// </summary>
internal static class EnvelopeIds
{
    public static string EmailId(string recipient, string batchId) =>
        $"<{Base64Url(recipient)}/{batchId}>";

    /// <summary>Splits an Envelope id back into recipient and Batch id; false for anything else.</summary>
    public static bool TryParseEmailId(string emailId, out string recipient, out string batchId)
    {
        recipient = "";
        batchId = "";
        var inner = emailId.Trim().TrimStart('<').TrimEnd('>');
        var slash = inner.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == inner.Length - 1)
        {
            return false;
        }

        if (!TryFromBase64Url(inner[..slash], out recipient))
        {
            return false;
        }

        batchId = inner[(slash + 1)..];
        return DomainOfBatch(batchId) is not null;
    }

    /// <summary>
    /// The VERP return path (envelope MAIL FROM): <c>bump_&lt;base64url(recipient)&gt;.&lt;mac&gt;+&lt;batch id&gt;</c>, the MAC
    /// made by <see cref="ReturnPathSigner"/> (ADR 0011). The Batch id ends in <c>@&lt;domain&gt;</c>, so bounces go to the
    /// sending domain's MX.
    /// </summary>
    public static string ReturnPath(string recipient, string batchId, string mac) => $"bump_{Base64Url(recipient)}.{mac}+{batchId}";

    /// <summary>Splits a return path into recipient, Batch id and MAC (not verified here; empty when unsigned); false for anything else.</summary>
    public static bool TryParseReturnPath(string returnPath, out string recipient, out string batchId, out string mac)
    {
        recipient = "";
        batchId = "";
        mac = "";
        var plus = returnPath.IndexOf('+', StringComparison.Ordinal);
        if (!returnPath.StartsWith("bump_", StringComparison.Ordinal) || plus < 0)
        {
            return false;
        }

        // base64url never contains '.', so the last one before '+' starts the MAC. Without one it is the original's
        // unsigned form (mail sent before ADR 0011): parsed, with an empty MAC that never verifies.
        var local = returnPath["bump_".Length..plus];
        var dot = local.LastIndexOf('.');
        var encoded = dot < 0 ? local : local[..dot];
        if (dot == 0 || dot == local.Length - 1 || !TryFromBase64Url(encoded, out recipient))
        {
            recipient = "";
            return false;
        }

        mac = dot < 0 ? "" : local[(dot + 1)..];
        batchId = returnPath[(plus + 1)..];
        return DomainOfBatch(batchId) is not null;
    }

    /// <summary>The domain a Batch id ends with (after its last '@'), or null when it has none.</summary>
    public static string? DomainOfBatch(string batchId)
    {
        var at = batchId.LastIndexOf('@');
        return at > 0 && at < batchId.Length - 1 ? batchId[(at + 1)..] : null;
    }

    /// <summary>base64url with padding, as the original writes it.</summary>
    public static string Base64Url(string value) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(value)).Replace('+', '-').Replace('/', '_');

    public static bool TryFromBase64Url(string value, out string decoded)
    {
        decoded = "";
        var standard = value.Replace('-', '+').Replace('_', '/');
        standard = standard.PadRight(standard.Length + ((4 - (standard.Length % 4)) % 4), '=');
        var buffer = new byte[standard.Length];
        if (!Convert.TryFromBase64String(standard, buffer, out var written))
        {
            return false;
        }

        try
        {
            decoded = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer, 0, written);
            return decoded.Length > 0;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
