using StatsEvent = Kannon.Protos.Stats.Types.Stats;

namespace Kannon.Sender;

/// <summary>What the send guard holds for one stream message, with the entry's revision for the compare-and-set that settles it.</summary>
internal sealed record GuardEntry(GuardState State, StatsEvent? Outcome, ulong Revision)
{
    /// <summary>The key was free and is now ours (at <paramref name="revision"/>): send.</summary>
    public static GuardEntry Claimed(ulong revision) => new(GuardState.Claimed, null, revision);

    /// <summary>An earlier delivery started a transaction and has not recorded how it ended (its entry is at <paramref name="revision"/>).</summary>
    public static GuardEntry Interrupted(ulong revision) => new(GuardState.Interrupted, null, revision);

    public static GuardEntry Recorded(StatsEvent outcome, ulong revision) => new(GuardState.Recorded, outcome, revision);
}
