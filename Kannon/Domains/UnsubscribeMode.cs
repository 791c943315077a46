namespace Kannon.Domains;

internal static class UnsubscribeMode
{
    public const string Hosted = "hosted";
    public const string Off = "off";
}
