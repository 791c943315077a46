namespace Kannon.Data;

/// <summary>
/// to_validate → scheduled → sending (published, waiting for the Sender's outcome). Terminal outcomes delete
/// the row. The Validator and the Dispatcher claim rows as held row locks, not as states (ADR 0018);
/// <see cref="Validating"/> and <see cref="Dispatching"/> are only found in rows a version before that left
/// behind, and are reclaimed.
/// </summary>
internal static class DeliveryStatus
{
    public const string ToValidate = "to_validate";
    public const string Validating = "validating";
    public const string Scheduled = "scheduled";
    public const string Dispatching = "dispatching";
    public const string Sending = "sending";
}
