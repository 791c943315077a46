using NATS.Client.JetStream;

namespace Kannon.Messaging;

/// <summary>How consumers answer JetStream: Term what can never succeed, Nak with a delay what may later. Never a plain Nak (an instant hot loop).</summary>
internal static class Acks
{
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    public static ValueTask RetryLaterAsync<T>(this INatsJSMsg<T> message, TimeSpan? delay = null) =>
        message.NakAsync(new AckOpts { NakDelay = delay ?? RetryDelay });

    /// <summary>
    /// Terminates the message. <paramref name="reason"/> is for the caller's log only: nats-server 2.9 knows just a
    /// bare "+TERM" and ignores "+TERM &lt;reason&gt;" (2.10 added reasons), leaving the message to be redelivered.
    /// </summary>
    public static ValueTask GiveUpAsync<T>(this INatsJSMsg<T> message, string reason)
    {
        _ = reason;
        return message.AckTerminateAsync();
    }
}
