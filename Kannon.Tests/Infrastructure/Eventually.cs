namespace Kannon.Tests.Infrastructure;

/// <summary>Polls a condition until it holds or the deadline passes; no sleeps guessed at.</summary>
internal static class Eventually
{
    public static async Task<T> ReturnsAsync<T>(Func<Task<T>> probe, Func<T, bool> until, TimeSpan? timeout = null, string? because = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        var delay = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var value = await probe().ConfigureAwait(false);
            if (until(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"condition not met within {timeout ?? TimeSpan.FromSeconds(30)}: {because ?? "(no description)"}; last value: {value}");
            }

            await Task.Delay(delay).ConfigureAwait(false);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 250));
        }
    }

    public static Task HoldsAsync(Func<Task<bool>> probe, TimeSpan? timeout = null, string? because = null) =>
        ReturnsAsync(probe, ok => ok, timeout, because);
}
