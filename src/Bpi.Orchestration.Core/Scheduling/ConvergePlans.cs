using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration;

/// <summary>
/// The plans of scale, destroy and clean-up: each compares what the runtime reports with what should run and plans only
/// the difference. Planned again from a fresh observation, such a plan resumes itself — after a crash the steps already
/// done drop out — so these plans need no stored step index to survive a restart.
/// </summary>
internal static class ConvergePlans
{
    /// <summary>The strategy name of the plans made here.</summary>
    public const string Converge = "converge";

    /// <summary>
    /// Scale: for each component of <paramref name="desired"/> (dependencies first) whose revision does not run exactly
    /// its replica count, all ready — converge, wait until ready, refresh the route.
    /// </summary>
    public static RolloutPlan Scale(RevisionSpec desired, IReadOnlyList<WorkloadInstance> observed)
    {
        var steps = new List<RolloutStep>();
        var components = ComponentOrder.Sort(desired.Spec.Components);
        for (var i = 0; i < components.Count; i++)
        {
            var component = components[i];
            var (total, ready) = Count(observed, component.Id, desired.Number);
            if (total == component.Replicas && ready == component.Replicas)
            {
                continue;
            }

            steps.Add(new ScaleRevisionStep(component.Id, desired.Number, component.Replicas));
            steps.Add(new AwaitReadyStep(component.Id, desired.Number, component.Replicas));
            steps.Add(new SetTrafficStep(component.Id, TrafficWeights.AllTo(desired.Number)));
        }

        return new RolloutPlan(desired.Spec.Name, RolloutKind.Scale, Converge, desired.Number, desired.Number, steps);
    }

    /// <summary>
    /// Destroy: unless <paramref name="force"/>d, scale every revision of every component the runtime reports to zero,
    /// dependents first; then, with a router, remove the route of every component any retained revision had.
    /// </summary>
    public static RolloutPlan Destroy(DeploymentRecord record, IReadOnlyList<WorkloadInstance> observed, bool force, bool hasRouter)
    {
        var steps = new List<RolloutStep>();
        if (!force)
        {
            foreach (var (componentId, revision, _) in Groups(observed, ComponentOrder.Sort(record.CurrentSpec.Components), keep: null, keptComponents: null))
            {
                steps.Add(new ScaleRevisionStep(componentId, revision, 0));
            }
        }

        if (hasRouter)
        {
            // Every component any retained revision had, once each (usually one revision: no bookkeeping needed).
            List<string>? removed = record.Revisions.Count > 1 ? [] : null;
            for (var r = 0; r < record.Revisions.Count; r++)
            {
                var components = record.Revisions[r].Spec.Components;
                for (var c = 0; c < components.Count; c++)
                {
                    var componentId = components[c].Id;
                    if (removed is null || !removed.Contains(componentId, StringComparer.Ordinal))
                    {
                        removed?.Add(componentId);
                        steps.Add(new SetTrafficStep(componentId, TrafficWeights.None));
                    }
                }
            }
        }

        return new RolloutPlan(record.CurrentSpec.Name, RolloutKind.Destroy, force ? "forced" : Converge, record.StableRevision, 0, steps);
    }

    /// <summary>
    /// Clean-up after a plan: scale to zero every revision other than <paramref name="keep"/>, and the instances of
    /// <paramref name="keep"/> whose component its spec no longer has. <see langword="null"/> when nothing is stale (the
    /// usual case, found out without grouping anything).
    /// </summary>
    public static RolloutPlan? Cleanup(DeploymentRecord record, int keep, IReadOnlyList<WorkloadInstance> observed)
    {
        var components = record.FindRevision(keep)?.Spec.Components;
        List<RolloutStep>? steps = null;
        foreach (var (componentId, revision, _) in Groups(observed, components ?? [], keep, components))
        {
            (steps ??= []).Add(new ScaleRevisionStep(componentId, revision, 0));
        }

        return steps is null ? null : new RolloutPlan(record.CurrentSpec.Name, RolloutKind.Cleanup, Converge, null, keep, steps);
    }

    /// <summary>
    /// The workload a sweep scales to zero, described from the record even when its revision is no longer retained or its
    /// component was dropped (the runtime only needs the ids and labels to find the instances).
    /// </summary>
    public static WorkloadRevision RetiringWorkload(DeploymentRecord record, string ownerId, string componentId, int revision)
    {
        var spec = (record.FindRevision(revision) ?? record.Revisions[^1]).Spec;
        var component = ComponentOrder.Find(spec.Components, componentId) ?? RemovedComponent(record, componentId);
        return new WorkloadRevision
        {
            OwnerId = ownerId,
            DeploymentId = record.Id,
            DeploymentName = spec.Name,
            AppId = spec.AppId,
            Environment = spec.Environment,
            Revision = revision,
            Component = component,
            Labels = spec.Labels,
        };
    }

    /// <summary>
    /// A component the revision being retired no longer has: as another retained revision declared it, else a stand-in
    /// with its id. Its own method, so the usual case (the revision has the component) makes no closure.
    /// </summary>
    private static ComponentSpec RemovedComponent(DeploymentRecord record, string componentId)
        => record.Revisions.Select(r => ComponentOrder.Find(r.Spec.Components, componentId)).FirstOrDefault(c => c is not null)
           ?? new ComponentSpec { Id = componentId, Image = "(removed)", Replicas = 0 };

    /// <summary>What <see cref="Groups"/> answers when nothing is found (shared; never changed).</summary>
    private static readonly List<(string ComponentId, int Revision, int Rank)> NoGroups = [];

    /// <summary>
    /// The (component, revision) pairs the runtime reports, dependents first (ranked by <paramref name="order"/>; a
    /// component it lacks goes last); with <paramref name="keep"/>, only the stale ones.
    /// </summary>
    /// <remarks>Nothing stale is the usual answer after a plan: then no list is made.</remarks>
    private static List<(string ComponentId, int Revision, int Rank)> Groups(IReadOnlyList<WorkloadInstance> observed, IReadOnlyList<ComponentSpec> order, int? keep, IReadOnlyList<ComponentSpec>? keptComponents)
    {
        List<(string ComponentId, int Revision, int Rank)>? groups = null;
        for (var index = 0; index < observed.Count; index++)
        {
            var instance = observed[index];
            if (keep is { } kept && instance.Revision == kept && (keptComponents is null || ComponentOrder.IndexOf(keptComponents, instance.ComponentId) >= 0))
            {
                continue;
            }

            // The instances of one group usually come together: look for the pair before ranking it.
            if (groups is null || !HasGroup(groups, instance.ComponentId, instance.Revision))
            {
                (groups ??= new(1)).Add((instance.ComponentId, instance.Revision, ComponentOrder.IndexOf(order, instance.ComponentId)));
            }
        }

        if (groups is null)
        {
            return NoGroups;
        }

        // Dependents first; a stable insertion sort keeps the runtime's order among equals (a few groups at most).
        for (var i = 1; i < groups.Count; i++)
        {
            for (var j = i; j > 0 && groups[j - 1].Rank < groups[j].Rank; j--)
            {
                (groups[j - 1], groups[j]) = (groups[j], groups[j - 1]);
            }
        }

        return groups;
    }

    private static bool HasGroup(List<(string ComponentId, int Revision, int Rank)> groups, string componentId, int revision)
    {
        for (var i = groups.Count - 1; i >= 0; i--)
        {
            if (groups[i].Revision == revision && string.Equals(groups[i].ComponentId, componentId, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static (int Total, int Ready) Count(IReadOnlyList<WorkloadInstance> observed, string componentId, int revision)
    {
        int total = 0, ready = 0;
        for (var i = 0; i < observed.Count; i++)
        {
            var instance = observed[i];
            if (instance.Revision == revision && string.Equals(instance.ComponentId, componentId, StringComparison.Ordinal))
            {
                total++;
                if (instance.State == InstanceState.Running && instance.Health != InstanceHealth.Unhealthy)
                {
                    ready++;
                }
            }
        }

        return (total, ready);
    }
}
