using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies.Traffic;

namespace Bpi.Orchestration.Strategies.Rolling;

/// <summary>The batch arithmetic of a rolling update, shared by rollouts and rollbacks.</summary>
internal static class RollingPlanner
{
    /// <summary>
    /// Adds the batches that take one component from <paramref name="oldCount"/> instances of <paramref name="oldRevision"/>
    /// (and <paramref name="newStart"/> of <paramref name="newRevision"/>) to <paramref name="replicas"/> instances of the
    /// new revision only. Invariants: instances ≤ replicas + surge; available ≥ replicas − unavailable (once reached).
    /// </summary>
    public static void AddRoll(
        List<RolloutStep> steps,
        string componentId,
        int newRevision,
        int replicas,
        int oldRevision,
        int oldCount,
        int newStart,
        RollingStrategySpec spec,
        int desiredForBudget)
    {
        var (surge, unavailable) = spec.Resolve(desiredForBudget);
        var batch = spec.BatchSize ?? Math.Max(1, replicas + oldCount + newStart);
        var maxTotal = replicas + surge;
        var minAvailable = Math.Max(0, replicas - unavailable);
        var n = newStart;
        var o = oldCount;
        var first = true;

        if (replicas == 0)
        {
            steps.Add(new ScaleRevisionStep(componentId, newRevision, 0));
            steps.Add(new ScaleRevisionStep(componentId, oldRevision, 0));
            steps.Add(new SetTrafficStep(componentId, new Dictionary<int, int>()));
            return;
        }

        while (n != replicas || o != 0)
        {
            if (!first && spec.PauseBetweenBatches > TimeSpan.Zero)
            {
                steps.Add(new PauseStep(spec.PauseBetweenBatches));
            }

            first = false;

            // Scale the new revision up as far as the surge and the batch allow (never down while old ones remain).
            var up = Math.Min(replicas, Math.Min(maxTotal - o, n + batch));
            if (n > replicas)
            {
                up = replicas; // more new instances than wanted (a rollback from a partial state): converge down
            }

            if (up > n || (up < n && n > replicas))
            {
                n = up;
                steps.Add(new ScaleRevisionStep(componentId, newRevision, n));
            }

            if (n > 0)
            {
                steps.Add(new AwaitReadyStep(componentId, newRevision, n));
            }

            // Scale the old revision down as far as availability and the batch allow.
            var down = Math.Max(0, Math.Max(o - batch, minAvailable - n));
            if (down < o)
            {
                o = down;
                steps.Add(new ScaleRevisionStep(componentId, oldRevision, o));
            }

            steps.Add(o == 0 && n == replicas
                ? new SetTrafficStep(componentId, new Dictionary<int, int> { [newRevision] = 100 })
                : new BalanceTrafficStep(componentId, [newRevision, oldRevision]) { Expected = Weights(newRevision, n, oldRevision, o) });
        }
    }

    /// <summary>Route weights proportional to instance counts (the new revision gets the rounding remainder).</summary>
    public static Dictionary<int, int> Weights(int newRevision, int newCount, int oldRevision, int oldCount)
    {
        if (oldCount == 0 || newRevision == oldRevision)
        {
            return new Dictionary<int, int> { [newRevision] = 100 };
        }

        if (newCount == 0)
        {
            return new Dictionary<int, int> { [oldRevision] = 100 };
        }

        var oldWeight = (int)Math.Round(100.0 * oldCount / (oldCount + newCount), MidpointRounding.AwayFromZero);
        oldWeight = Math.Clamp(oldWeight, 1, 99);
        return new Dictionary<int, int> { [newRevision] = 100 - oldWeight, [oldRevision] = oldWeight };
    }
}
