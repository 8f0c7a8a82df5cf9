using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration;

/// <summary>Small pure helpers over a record's revisions and reservations, shared by admission and the runner.</summary>
internal static class RevisionLists
{
    public static ResourceRequirements Max(ResourceRequirements a, ResourceRequirements b) => new()
    {
        CpuCores = Math.Max(a.CpuCores, b.CpuCores),
        MemoryMb = Math.Max(a.MemoryMb, b.MemoryMb),
        StorageGb = Math.Max(a.StorageGb, b.StorageGb),
        NetworkBandwidthMbps = Math.Max(a.NetworkBandwidthMbps, b.NetworkBandwidthMbps),
    };

    public static IReadOnlyList<RevisionSpec> Replace(IReadOnlyList<RevisionSpec> revisions, RevisionSpec replacement)
        => [.. revisions.Select(r => r.Number == replacement.Number ? replacement : r)];

    /// <summary>Keeps the newest <paramref name="limit"/> revisions plus the stable and the target revision.</summary>
    public static IReadOnlyList<RevisionSpec> Prune(IReadOnlyList<RevisionSpec> revisions, int? stable, int? target, int limit)
    {
        // Captured parameters would make the lambdas' closure on every call, even the common one that prunes nothing.
        return revisions.Count <= limit ? revisions : PruneOver(revisions, stable, target, limit);
    }

    private static IReadOnlyList<RevisionSpec> PruneOver(IReadOnlyList<RevisionSpec> revisions, int? stable, int? target, int limit)
    {
        var newest = revisions.OrderByDescending(r => r.Number).Take(limit).Select(r => r.Number).ToHashSet();
        return [.. revisions.Where(r => newest.Contains(r.Number) || r.Number == stable || r.Number == target).OrderBy(r => r.Number)];
    }
}
