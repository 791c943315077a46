namespace Kannon.Sender;

/// <summary>What one SMTP transaction for one Envelope came to. Expected results are values, not exceptions.</summary>
internal abstract record SendOutcome
{
    /// <summary>Code the original reports for a destination it could not talk to (connect, TLS, protocol, timeout).</summary>
    public const int ConnectionFailureCode = 111;

    public static readonly SendOutcome Success = new Delivered();

    private SendOutcome()
    {
    }

    /// <summary>The receiving server took the message (2xx at the end of DATA).</summary>
    public sealed record Delivered : SendOutcome;

    /// <summary>The message will not be delivered: a 5xx at MAIL/RCPT/DATA, or a destination that cannot exist.</summary>
    public sealed record Bounced(bool Permanent, int Code, string Text) : SendOutcome;

    /// <summary>Not delivered this time (4xx, unreachable, timeout); the Dispatcher tries again with a new Envelope.</summary>
    public sealed record Retry(int Code, string Text) : SendOutcome;

    public static SendOutcome Bounce(int code, string text) => new Bounced(true, code, text);

    public static SendOutcome Unreachable(string text) => new Retry(ConnectionFailureCode, text);
}
