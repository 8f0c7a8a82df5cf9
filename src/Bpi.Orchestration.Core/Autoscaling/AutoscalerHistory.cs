using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Autoscaling;

/// <summary>
/// What the HPA algorithm remembers of one component: recent recommendations (for the stabilisation windows) and recent
/// scale events (for the rate policies). Entries older than the longest window or policy period are dropped as new ones
/// come, and so is a recommendation that can no longer decide any window (a later one is at least as high and a later
/// one at least as low), so the memory stays small enough to store with the deployment. Not thread-safe: one autoscaler
/// pass at a time owns it.
/// </summary>
internal sealed class AutoscalerHistory
{
    private static readonly TimeSpan LongestPolicyPeriod = TimeSpan.FromMinutes(30);
    private readonly List<(DateTimeOffset At, int Replicas)> _recommendations = [];
    private readonly List<(DateTimeOffset At, int Change)> _scales = [];

    public IReadOnlyList<(DateTimeOffset At, int Replicas)> Recommendations => _recommendations;

    /// <summary>Remembers a recommendation; forgets those older than <paramref name="keep"/> and those a later one makes irrelevant.</summary>
    public void RecordRecommendation(DateTimeOffset at, int replicas, TimeSpan keep)
    {
        _recommendations.RemoveAll(r => r.At <= at - keep);
        _recommendations.Add((at, replicas));

        // A window takes the highest (scale-down) or lowest (scale-up) recommendation after its start: an entry with a
        // later one at least as high and a later one at least as low decides no window, whatever its width.
        var laterMax = int.MinValue;
        var laterMin = int.MaxValue;
        for (var i = _recommendations.Count - 1; i >= 0; i--)
        {
            var value = _recommendations[i].Replicas;
            if (value <= laterMax && value >= laterMin)
            {
                _recommendations.RemoveAt(i);
                continue;
            }

            laterMax = Math.Max(laterMax, value);
            laterMin = Math.Min(laterMin, value);
        }
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

    /// <summary>The memory to store.</summary>
    public AutoscalerMemory Save(string componentId, int revision)
        => new(componentId, revision, [.. _recommendations.Select(r => new AutoscalerSample(r.At, r.Replicas))], [.. _scales.Select(s => new AutoscalerSample(s.At, s.Change))]);

    /// <summary>Replaces the memory with a stored one.</summary>
    public void Restore(AutoscalerMemory memory)
    {
        Clear();
        _recommendations.AddRange((memory.Recommendations ?? []).Where(r => r is not null).OrderBy(r => r.At).Select(r => (r.At, r.Value)));
        _scales.AddRange((memory.Scales ?? []).Where(s => s is not null).OrderBy(s => s.At).Select(s => (s.At, s.Value)));
    }
}
