namespace Kannon.Sender;

/// <summary>
/// Points where a test can stop the Sender as a crash would (empty in production). A test registers its
/// own instance with <c>configureServices</c>.
/// </summary>
internal sealed class SenderTestHooks
{
    /// <summary>After the outcome is in the send guard, before it is published and the message acked; gets the stream sequence.</summary>
    public Func<ulong, CancellationToken, Task>? AfterOutcomeRecorded { get; init; }
}
