namespace Bpi.Orchestration.Rollout;

/// <summary>Building blocks for plans that every strategy shares: bringing a revision up in dependency order, tearing one down, scaling.</summary>
public static class PlanPlanner
{
    /// <summary>Adds, for each component in dependency order: scale to its replicas, wait until all are ready, route 100% to it.</summary>
    /// <param name="steps">The plan being built.</param>
    /// <param name="revision">The revision to bring up.</param>
    public static void AddBringUp(List<RolloutStep> steps, RevisionSpec revision)
    {
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(revision);
        var ordered = ComponentOrder.Sort(revision.Spec.Components);
        for (var i = 0; i < ordered.Count; i++)
        {
            var component = ordered[i];
            steps.Add(new ScaleRevisionStep(component.Id, revision.Number, component.Replicas));
            steps.Add(new AwaitReadyStep(component.Id, revision.Number, component.Replicas));
            steps.Add(new SetTrafficStep(component.Id, TrafficWeights.AllTo(revision.Number)));
        }
    }

    /// <summary>Adds, for each component in reverse dependency order (dependents first): scale the revision to zero.</summary>
    /// <param name="steps">The plan being built.</param>
    /// <param name="revision">The revision to tear down.</param>
    public static void AddTearDown(List<RolloutStep> steps, RevisionSpec revision)
    {
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(revision);
        foreach (var component in ComponentOrder.Sort(revision.Spec.Components).Reverse())
        {
            steps.Add(new ScaleRevisionStep(component.Id, revision.Number, 0));
        }
    }

    /// <summary>Adds a route removal for each component of <paramref name="from"/> that <paramref name="to"/> no longer has.</summary>
    /// <param name="steps">The plan being built.</param>
    /// <param name="from">The revision being left.</param>
    /// <param name="to">The revision being reached.</param>
    public static void AddRouteRemovalOfDroppedComponents(List<RolloutStep> steps, RevisionSpec from, RevisionSpec to)
    {
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        foreach (var component in from.Spec.Components)
        {
            if (!to.Spec.Components.Any(c => string.Equals(c.Id, component.Id, StringComparison.Ordinal)))
            {
                steps.Add(new SetTrafficStep(component.Id, TrafficWeights.None));
            }
        }
    }

    /// <summary>
    /// The plan of a scale operation (the same for every strategy): converge each component of the serving revision to
    /// its count in <paramref name="to"/>, wait until ready, refresh the route.
    /// </summary>
    /// <param name="from">The serving revision with the old replica counts.</param>
    /// <param name="to">The same revision with the new replica counts.</param>
    /// <returns>The plan.</returns>
    public static RolloutPlan PlanScale(RevisionSpec from, RevisionSpec to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var steps = new List<RolloutStep>();
        foreach (var component in ComponentOrder.Sort(to.Spec.Components))
        {
            var before = from.Spec.Components.FirstOrDefault(c => string.Equals(c.Id, component.Id, StringComparison.Ordinal));
            if (before?.Replicas == component.Replicas)
            {
                continue;
            }

            steps.Add(new ScaleRevisionStep(component.Id, to.Number, component.Replicas));
            steps.Add(new AwaitReadyStep(component.Id, to.Number, component.Replicas));
            steps.Add(new SetTrafficStep(component.Id, TrafficWeights.AllTo(to.Number)));
        }

        return new RolloutPlan(to.Spec.Name, RolloutKind.Scale, "scale", from.Number, to.Number, steps);
    }
}
