namespace Kannon.Dispatcher;

/// <summary>
/// Retry n of a Delivery is due at original + max(retry_min, retry_base·2ⁿ); once that would fall outside
/// the retry budget (original + retry_budget) the Delivery ends as failed.
/// </summary>
internal sealed record RetrySchedule(TimeSpan Min, TimeSpan Base, TimeSpan Budget)
{
    public static RetrySchedule From(DispatcherOptions options) => new(options.RetryMin, options.RetryBase, options.RetryBudget);

    public TimeSpan DelayBefore(int attemptsSoFar)
    {
        var exponent = Math.Min(attemptsSoFar, 30);
        var grown = Base.Ticks * Math.Pow(2, exponent);
        return TimeSpan.FromTicks((long)Math.Min(Math.Max(grown, Min.Ticks), TimeSpan.MaxValue.Ticks / 2));
    }

    /// <summary>When the next try is due, or null when the budget is spent.</summary>
    public DateTimeOffset? NextAttempt(DateTimeOffset original, int attemptsSoFar)
    {
        var next = original + DelayBefore(attemptsSoFar);
        return next < original + Budget ? next : null;
    }

    /// <summary>No try may start any more: the budget from the original schedule has run out.</summary>
    public bool IsSpent(DateTimeOffset original, DateTimeOffset now) => now >= original + Budget;

    /// <summary>The original's should_retry: whether a failure of this attempt may still be retried.</summary>
    public bool CanRetry(DateTimeOffset original, int attemptsSoFar) => NextAttempt(original, attemptsSoFar) is not null;
}
