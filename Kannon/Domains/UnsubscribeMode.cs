namespace Kannon.Domains;

/// <summary>
/// A Domain's unsubscribe setting, stored in <c>domains.unsubscribe</c>: <see cref="Hosted"/> (the default)
/// makes Kannon add RFC 8058 one-click <c>List-Unsubscribe</c> headers pointing at the Tracker to every Batch
/// that brings no unsubscribe URL of its own; <see cref="Off"/> adds none (purely transactional domains).
/// </summary>
internal static class UnsubscribeMode
{
    public const string Hosted = "hosted";
    public const string Off = "off";

    public static readonly IReadOnlyList<string> All = [Hosted, Off];
}
