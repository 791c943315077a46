namespace Kannon.Sender;

/// <summary><c>sender.demo_sender</c>: no network at all. Addresses containing "error" bounce, as in the original.</summary>
internal static class DemoSender
{
    public static SendOutcome Send(string recipient) =>
        recipient.Contains("error", StringComparison.Ordinal)
            ? SendOutcome.Bounce(512, "error sending email")
            : SendOutcome.Success;
}
