namespace Kannon.Data;

/// <summary>
/// to_validate → scheduled → dispatching (Dispatcher claim, before publish) → sending (published, waiting for the
/// Sender's outcome). Terminal outcomes delete the row. The Validator claims its batch as row locks, not as a state
/// (ADR 0020); <see cref="Validating"/> is only found in rows an earlier version left behind, and is reclaimed.
/// </summary>
internal static class DeliveryStatus
{
    public const string ToValidate = "to_validate";
    public const string Validating = "validating";
    public const string Scheduled = "scheduled";
    public const string Dispatching = "dispatching";
    public const string Sending = "sending";
}
