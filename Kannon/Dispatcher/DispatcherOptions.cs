using Kannon.Hosting.Configuration;
using Microsoft.Extensions.Configuration;

namespace Kannon.Dispatcher;

internal sealed class DispatcherOptions : IValidatedOptions
{
    public const string Section = "dispatcher";

    /// <summary>Retry n waits max(retry_min, retry_base·2ⁿ) after the original schedule.</summary>
    [ConfigurationKeyName("retry_min")]
    public TimeSpan RetryMin { get; set; } = TimeSpan.FromMinutes(5);

    [ConfigurationKeyName("retry_base")]
    public TimeSpan RetryBase { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>After this long from its scheduled time a Delivery that still fails ends as failed.</summary>
    [ConfigurationKeyName("retry_budget")]
    public TimeSpan RetryBudget { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Deliveries claimed per round trip.</summary>
    [ConfigurationKeyName("batch_size")]
    public int BatchSize { get; set; } = 500;

    /// <summary>Dispatch loops per process: one builds Envelopes while another waits on the database or JetStream.</summary>
    [ConfigurationKeyName("concurrency")]
    public int Concurrency { get; set; } = 2;

    /// <summary>The longest the Dispatcher sleeps when idle; new work wakes it at once.</summary>
    [ConfigurationKeyName("poll_interval")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A claim older than this whose envelope was never published goes back to scheduled.</summary>
    [ConfigurationKeyName("dispatching_timeout")]
    public TimeSpan DispatchingTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// A Delivery sent to the Sender with no outcome after this long is dispatched again as the same attempt (ADR 0024):
    /// safe at any time (the send guard never sends an attempt twice), so only as long as a healthy Sender may take.
    /// </summary>
    [ConfigurationKeyName("sending_timeout")]
    public TimeSpan SendingTimeout { get; set; } = TimeSpan.FromMinutes(15);

    public IEnumerable<string> Validate()
    {
        if (RetryMin < TimeSpan.Zero)
        {
            yield return "dispatcher.retry_min: must not be negative";
        }

        if (RetryBase <= TimeSpan.Zero)
        {
            yield return "dispatcher.retry_base: must be positive";
        }

        if (RetryBudget <= TimeSpan.Zero)
        {
            yield return "dispatcher.retry_budget: must be positive";
        }

        if (BatchSize is < 1 or > 10_000)
        {
            yield return $"dispatcher.batch_size: {BatchSize} is out of range (1-10000)";
        }

        if (Concurrency is < 1 or > 64)
        {
            yield return $"dispatcher.concurrency: {Concurrency} is out of range (1-64)";
        }

        if (PollInterval <= TimeSpan.Zero)
        {
            yield return "dispatcher.poll_interval: must be positive";
        }

        if (DispatchingTimeout <= TimeSpan.Zero)
        {
            yield return "dispatcher.dispatching_timeout: must be positive";
        }

        if (SendingTimeout <= TimeSpan.Zero)
        {
            yield return "dispatcher.sending_timeout: must be positive";
        }
    }
}
