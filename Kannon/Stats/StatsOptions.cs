using Kannon.Hosting.Configuration;

namespace Kannon.Stats;

internal sealed class StatsOptions : IValidatedOptions
{
    public const string Section = "stats";

    /// <summary>How long per-event stats are kept; hourly aggregates are kept forever.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(8760);

    public IEnumerable<string> Validate()
    {
        if (Retention < TimeSpan.FromHours(1))
        {
            yield return $"stats.retention: {Retention} is shorter than 1h";
        }
    }
}
