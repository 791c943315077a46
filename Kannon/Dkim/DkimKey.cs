namespace Kannon.Dkim;

internal sealed class DkimKey
{
    public int Id { get; set; }

    public required string Domain { get; set; }

    public string Selector { get; set; } = "kannon";

    public required string Algorithm { get; set; }

    /// <summary>Base64 of the PKCS#1 DER private key for RSA.</summary>
    public required string PrivateKey { get; set; }

    /// <summary>Base64 of the SubjectPublicKeyInfo DER: the DNS record's <c>p=</c> value.</summary>
    public required string PublicKey { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? RetiredAt { get; set; }
}
