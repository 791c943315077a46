namespace Kannon.Dkim;

internal static class DkimAlgorithm
{
    public const string RsaSha256 = "rsa-sha256";
    public const string Ed25519Sha256 = "ed25519-sha256";
}
