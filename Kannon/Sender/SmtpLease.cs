namespace Kannon.Sender;

/// <summary>One connection lent to one transaction; hand it back with <see cref="Return"/> exactly once.</summary>
internal sealed record SmtpLease(SmtpConnectionPool Pool, SmtpConnectionPool.Destination Slot, SmtpDestination Destination, RawSmtpClient Client, bool Reused)
{
    /// <param name="reusable">The connection is in a clean state (transaction done or reset) and may carry another one.</param>
    public void Return(bool reusable) => Pool.Release(this, reusable);
}
