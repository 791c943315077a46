using System.Collections.Concurrent;
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto;

namespace Kannon.Dkim;

/// <summary>
/// The rsa-sha256 signing context MimeKit's DKIM signer feeds: hashes with .NET and signs with .NET's RSA
/// (OpenSSL), about 20× faster than BouncyCastle's managed RSA (~0.3 ms against ~6 ms per 2048-bit signature).
/// </summary>
internal sealed class RsaSha256Signer(ConcurrentBag<RSA> keys, byte[] pkcs1) : ISigner
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public string AlgorithmName => "SHA-256withRSA";

    public void Init(bool forSigning, ICipherParameters parameters)
    {
        // Keyed at construction.
    }

    public void Update(byte input) => _hash.AppendData([input]);

    public void BlockUpdate(byte[] input, int inOff, int inLen) => _hash.AppendData(input, inOff, inLen);

    public void BlockUpdate(ReadOnlySpan<byte> input) => _hash.AppendData(input);

    public int GetMaxSignatureSize() => 1024;

    public byte[] GenerateSignature()
    {
        // MimeKit takes one context per signature, so the hash is done with here.
        var hash = _hash.GetHashAndReset();
        _hash.Dispose();

        // RSA instances are not documented as safe for concurrent use: each signature borrows one.
        if (!keys.TryTake(out var rsa))
        {
            rsa = RSA.Create();
            rsa.ImportRSAPrivateKey(pkcs1, out _);
        }

        try
        {
            return rsa.SignHash(hash, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }
        finally
        {
            keys.Add(rsa);
        }
    }

    public bool VerifySignature(byte[] signature) => throw new NotSupportedException("signing only");

    public void Reset() => _hash.GetHashAndReset();
}
