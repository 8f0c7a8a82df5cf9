namespace Bpi.Orchestration.Autoscaling;

/// <summary>
/// What the HPA algorithm remembers of one component: recent recommendations (for the stabilisation windows) and recent
/// scale events (for the rate policies). Entries older than the longest window or policy period are dropped as new ones
/// come. Not thread-safe: one autoscaler pass at a time owns it.
/// </summary>
internal sealed class AutoscalerHistory
{
    private static readonly TimeSpan LongestPolicyPeriod = TimeSpan.FromMinutes(30);
    private readonly List<(DateTimeOffset At, int Replicas)> _recommendations = [];
    private readonly List<(DateTimeOffset At, int Change)> _scales = [];

    public IReadOnlyList<(DateTimeOffset At, int Replicas)> Recommendations => _recommendations;

    /// <summary>Remembers a recommendation; forgets those older than <paramref name="keep"/>.</summary>
    public void RecordRecommendation(DateTimeOffset at, int replicas, TimeSpan keep)
    {
        _recommendations.RemoveAll(r => r.At <= at - keep);
        _recommendations.Add((at, replicas));
    }

    /// <summary>Remembers an applied change of the count (positive: added, negative: removed).</summary>
    public void RecordScale(DateTimeOffset at, int change)
    {
        _scales.RemoveAll(s => s.At <= at - LongestPolicyPeriod);
        if (change != 0)
        {
            _scales.Add((at, change));
        }
    }

    /// <summary>Instances added after <paramref name="cutoff"/>.</summary>
    public int AddedSince(DateTimeOffset cutoff) => _scales.Where(s => s.At > cutoff && s.Change > 0).Sum(s => s.Change);

    /// <summary>Instances removed after <paramref name="cutoff"/>.</summary>
    public int RemovedSince(DateTimeOffset cutoff) => _scales.Where(s => s.At > cutoff && s.Change < 0).Sum(s => -s.Change);

    /// <summary>Forgets everything (the component's autoscaling changed, or its revision was replaced by a rollout).</summary>
    public void Clear()
    {
        _recommendations.Clear();
        _scales.Clear();
    }
}
