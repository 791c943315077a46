namespace Kannon.Suppression;

/// <summary>One row of <c>suppression_removals</c>: the audit record of a suppression the operator removed.</summary>
internal sealed class SuppressionRemoval
{
    public long Id { get; set; }

    public required string Domain { get; set; }

    public required string Email { get; set; }

    /// <summary>The reason the removed suppression had.</summary>
    public required string Reason { get; set; }

    /// <summary>Why it was removed, as the operator wrote it.</summary>
    public string Note { get; set; } = "";

    public DateTimeOffset RemovedAt { get; set; }
}
