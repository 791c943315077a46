using System.Collections.Concurrent;

namespace Kannon.Dkim;

/// <summary>One parsed signer per (domain, selector, key), reused for every message those sign.</summary>
internal sealed class DkimSigners
{
    private const int Capacity = 4096;

    private readonly ConcurrentDictionary<DkimMaterial, DkimMessageSigner> _signers = new();

    /// <exception cref="FormatException">the key is not base64 of a PKCS#1 DER RSA private key</exception>
    public DkimMessageSigner For(DkimMaterial material)
    {
        if (_signers.TryGetValue(material, out var signer))
        {
            return signer;
        }

        signer = DkimMessageSigner.Create(material);
        if (_signers.Count >= Capacity)
        {
            // Only rotated-away keys pile up; the live ones are parsed again on their next message.
            _signers.Clear();
        }

        return _signers.GetOrAdd(material, signer);
    }
}
