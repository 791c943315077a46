namespace Kannon.Dkim;

/// <summary>What signs a Batch's mail: <c>d=</c>, <c>s=</c> and the base64 PKCS#1 DER RSA private key (<c>dkim_keys.private_key</c>).</summary>
internal sealed record DkimMaterial(string Domain, string Selector, string PrivateKey);
