using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Sender;

/// <summary>What the send guard holds for one stream message.</summary>
internal sealed record GuardEntry(GuardState State, StatsEvent? Outcome)
{
    /// <summary>The key was free and is now ours: send.</summary>
    public static readonly GuardEntry Claimed = new(GuardState.Claimed, null);

    /// <summary>An earlier delivery started a transaction and never recorded how it ended.</summary>
    public static readonly GuardEntry Interrupted = new(GuardState.Interrupted, null);

    public static GuardEntry Recorded(StatsEvent outcome) => new(GuardState.Recorded, outcome);
}
