using System.Collections.Concurrent;
using System.Security.Cryptography;
using MimeKit.Cryptography;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;

namespace Kannon.Dkim;

/// <summary>MimeKit's DKIM signer (relaxed/relaxed, rsa-sha256) with the RSA operation done by .NET.</summary>
internal sealed class RsaDkimSigner : DkimSigner
{
    private readonly ConcurrentBag<RSA> _keys = [];
    private readonly byte[] _pkcs1;

    private RsaDkimSigner(AsymmetricKeyParameter key, byte[] pkcs1, string domain, string selector)
        : base(key, domain, selector, DkimSignatureAlgorithm.RsaSha256)
    {
        _pkcs1 = pkcs1;
        HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed;
        BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed;
    }

    /// <exception cref="FormatException">the key is not base64 of a PKCS#1 DER RSA private key</exception>
    public static RsaDkimSigner Create(DkimMaterial material)
    {
        byte[] pkcs1;
        RsaPrivateKeyStructure structure;
        try
        {
            pkcs1 = Convert.FromBase64String(material.PrivateKey);
            structure = RsaPrivateKeyStructure.GetInstance(pkcs1);
            using var probe = RSA.Create();
            probe.ImportRSAPrivateKey(pkcs1, out _);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidCastException or CryptographicException or IOException)
        {
            throw new FormatException($"DKIM key {material.Selector}._domainkey.{material.Domain} is not a base64 PKCS#1 RSA private key", e);
        }

        var key = new RsaPrivateCrtKeyParameters(structure.Modulus, structure.PublicExponent, structure.PrivateExponent,
            structure.Prime1, structure.Prime2, structure.Exponent1, structure.Exponent2, structure.Coefficient);
        return new RsaDkimSigner(key, pkcs1, material.Domain, material.Selector);
    }

    protected override ISigner CreateSigningContext() => new RsaSha256Signer(_keys, _pkcs1);
}
