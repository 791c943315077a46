namespace Kannon.Pool;

/// <summary>
/// Keeps a claim (<c>WHERE status = … ORDER BY scheduled_time LIMIT n FOR UPDATE SKIP LOCKED</c>) on the claimable
/// index, whatever PostgreSQL's statistics say (ADR 0023). A Pool last analyzed while nearly empty is estimated at a
/// few dozen rows per status; the planner then reads every row of the status with a bitmap scan and sorts them all,
/// because the row locks sit between the sort and the limit: 60–100 ms per claim with 100,000 rows waiting, spilled
/// to disk, where walking the index to the first <c>n</c> rows takes about 1 ms. That lasted until autovacuum
/// analyzed the table again (a minute or more), after every large Batch that followed a quiet spell.
/// </summary>
internal static class ClaimPlan
{
    /// <summary>Run first inside the claim's transaction: a sort is then the plan of last resort, and the index order is taken.</summary>
    public const string IndexOrderOnly = "SET LOCAL enable_sort = off";
}
