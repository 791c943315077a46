namespace Kannon.Data;

/// <summary>
/// to_validate → validating (Validator claim) → scheduled → dispatching (Dispatcher claim, before
/// publish) → sending (published, waiting for the Sender's outcome). Terminal outcomes delete the row.
/// </summary>
internal static class DeliveryStatus
{
    public const string ToValidate = "to_validate";
    public const string Validating = "validating";
    public const string Scheduled = "scheduled";
    public const string Dispatching = "dispatching";
    public const string Sending = "sending";
}
