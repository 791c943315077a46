using System.Security.Cryptography;

namespace Kannon.Dkim;

internal static class DkimKeyGenerator
{
    public const string DefaultSelector = "kannon";

    /// <summary>A new RSA-2048 signing key for <paramref name="domain"/>, in the formats the original stores.</summary>
    public static DkimKey NewRsa(string domain, DateTimeOffset now)
    {
        using var rsa = RSA.Create(2048);
        return new DkimKey
        {
            Domain = domain,
            Selector = DefaultSelector,
            Algorithm = DkimAlgorithm.RsaSha256,
            PrivateKey = Convert.ToBase64String(rsa.ExportRSAPrivateKey()),
            PublicKey = Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo()),
            CreatedAt = now,
        };
    }
}
