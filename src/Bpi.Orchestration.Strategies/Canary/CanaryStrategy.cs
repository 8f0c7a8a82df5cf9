using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.Hooks;

namespace Bpi.Orchestration.Strategies.Canary;

/// <summary>
/// Plans canaries. Each weight step, for every component in dependency order: with a router, scale the canary to the
/// share of replicas the weight needs (at least one), wait until ready and set the exact weights while the stable
/// revision keeps all its instances; without a router, replace stable instances by canary ones so the replica ratio
/// approximates the weight. Promotion scales the canary to full size, routes all traffic to it and removes the stable
/// revision. The rollback routes everything back to the stable revision (restoring its size first) and removes the canary.
/// </summary>
internal sealed class CanaryStrategy : IRolloutStrategy
{
    public string Name => CanaryStrategySpec.StrategyName;

    public RolloutPlan Plan(RolloutContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var spec = context.Desired.Spec.Strategy as CanaryStrategySpec ?? new CanaryStrategySpec();
        var desired = context.Desired;
        var steps = new List<RolloutStep>();
        HookPlanner.Add(steps, spec.Hooks.PreRollout, HookPhase.PreRollout);
        if (context.Stable is not { } stable)
        {
            PlanPlanner.AddBringUp(steps, desired);
            HookPlanner.Add(steps, spec.Hooks.PostRollout, HookPhase.PostRollout);
            return new RolloutPlan(desired.Spec.Name, RolloutKind.Rollout, Name, null, desired.Number, steps);
        }

        var ordered = ComponentOrder.Sort(desired.Spec.Components);
        var shared = ordered.Where(c => Find(stable, c.Id) is not null).ToList();

        // Components the stable revision does not have come up first: there is nothing to compare them with.
        foreach (var added in ordered.Where(c => Find(stable, c.Id) is null))
        {
            steps.Add(new ScaleRevisionStep(added.Id, desired.Number, added.Replicas));
            steps.Add(new AwaitReadyStep(added.Id, desired.Number, added.Replicas));
            steps.Add(new SetTrafficStep(added.Id, new Dictionary<int, int> { [desired.Number] = 100 }));
        }

        var analysisComponent = spec.AnalysisComponent
            ?? shared.FirstOrDefault(c => c.Ports.Count > 0)?.Id
            ?? shared.FirstOrDefault()?.Id
            ?? ordered[0].Id;
        var canaryCounts = shared.ToDictionary(c => c.Id, _ => 0, StringComparer.Ordinal);
        foreach (var step in spec.EffectiveSteps())
        {
            switch (step)
            {
                case CanaryStep.SetWeight set:
                    foreach (var component in shared)
                    {
                        AddWeight(steps, component, Find(stable, component.Id)!, stable.Number, desired.Number, set.Weight, context.HasTrafficRouter, canaryCounts);
                    }

                    break;
                case CanaryStep.Pause pause:
                    steps.Add(new PauseStep(pause.Duration));
                    break;
                case CanaryStep.Analyze analyze:
                    steps.Add(new AnalysisStep(analyze.Analysis, analysisComponent, desired.Number, stable.Number));
                    break;
                case CanaryStep.Approval approval:
                    steps.Add(new AwaitApprovalStep(approval.Gate));
                    break;
            }
        }

        // Promotion.
        foreach (var component in shared)
        {
            if (canaryCounts[component.Id] != component.Replicas)
            {
                steps.Add(new ScaleRevisionStep(component.Id, desired.Number, component.Replicas));
            }

            steps.Add(new AwaitReadyStep(component.Id, desired.Number, component.Replicas));
            steps.Add(new SetTrafficStep(component.Id, new Dictionary<int, int> { [desired.Number] = 100 }));
        }

        foreach (var component in ComponentOrder.Sort(stable.Spec.Components).Reverse())
        {
            steps.Add(new ScaleRevisionStep(component.Id, stable.Number, 0));
        }

        PlanPlanner.AddRouteRemovalOfDroppedComponents(steps, stable, desired);
        HookPlanner.Add(steps, spec.Hooks.PostRollout, HookPhase.PostRollout);
        return new RolloutPlan(desired.Spec.Name, RolloutKind.Rollout, Name, stable.Number, desired.Number, steps);
    }

    public RolloutPlan PlanRollback(RolloutContext context, int failedAtStep)
    {
        ArgumentNullException.ThrowIfNull(context);
        var spec = context.Desired.Spec.Strategy as CanaryStrategySpec ?? new CanaryStrategySpec();
        var steps = new List<RolloutStep>();
        HookPlanner.Add(steps, spec.Hooks.OnAbort, HookPhase.OnAbort);
        AddReturnToStable(steps, context);
        return new RolloutPlan(context.Desired.Spec.Name, RolloutKind.Rollback, Name, context.Desired.Number, context.Stable?.Number ?? 0, steps);
    }

    /// <summary>Routes every component back to the stable revision (restoring its size first) and removes the new revision.</summary>
    internal static void AddReturnToStable(List<RolloutStep> steps, RolloutContext context)
    {
        var desired = context.Desired;
        if (context.Stable is not { } stable)
        {
            PlanPlanner.AddTearDown(steps, desired);
            foreach (var component in desired.Spec.Components)
            {
                steps.Add(new SetTrafficStep(component.Id, new Dictionary<int, int>()));
            }

            return;
        }

        foreach (var component in ComponentOrder.Sort(stable.Spec.Components))
        {
            steps.Add(new ScaleRevisionStep(component.Id, stable.Number, component.Replicas));
            steps.Add(new AwaitReadyStep(component.Id, stable.Number, component.Replicas));
            steps.Add(new SetTrafficStep(component.Id, new Dictionary<int, int> { [stable.Number] = 100 }));
        }

        foreach (var component in ComponentOrder.Sort(desired.Spec.Components).Reverse())
        {
            steps.Add(new ScaleRevisionStep(component.Id, desired.Number, 0));
            if (Find(stable, component.Id) is null)
            {
                steps.Add(new SetTrafficStep(component.Id, new Dictionary<int, int>()));
            }
        }
    }

    private static void AddWeight(List<RolloutStep> steps, ComponentSpec component, ComponentSpec old, int stableRevision, int canaryRevision, int weight, bool router, Dictionary<string, int> canaryCounts)
    {
        var replicas = component.Replicas;
        if (router)
        {
            // Exact weights: the stable revision keeps its instances; the canary gets enough to carry its share.
            var canary = weight == 0 ? 0 : Math.Clamp((int)Math.Ceiling(replicas * weight / 100.0), 1, Math.Max(1, replicas));
            if (canary > canaryCounts[component.Id])
            {
                steps.Add(new ScaleRevisionStep(component.Id, canaryRevision, canary));
                canaryCounts[component.Id] = canary;
            }

            if (canaryCounts[component.Id] > 0)
            {
                steps.Add(new AwaitReadyStep(component.Id, canaryRevision, canaryCounts[component.Id]));
            }

            steps.Add(new SetTrafficStep(component.Id, weight == 100
                ? new Dictionary<int, int> { [canaryRevision] = 100 }
                : new Dictionary<int, int> { [stableRevision] = 100 - weight, [canaryRevision] = weight }));
            return;
        }

        // Approximated by the replica ratio: the canary takes the nearest share of the replicas (at least one for a
        // weight above 0), the stable revision gives up as many once they are ready.
        var total = Math.Max(1, Math.Max(replicas, old.Replicas));
        var count = weight == 0 ? 0 : Math.Clamp((int)Math.Round(total * weight / 100.0, MidpointRounding.AwayFromZero), 1, total);
        if (count > canaryCounts[component.Id])
        {
            steps.Add(new ScaleRevisionStep(component.Id, canaryRevision, count));
            steps.Add(new AwaitReadyStep(component.Id, canaryRevision, count));
            canaryCounts[component.Id] = count;
        }

        var stableCount = Math.Min(old.Replicas, Math.Max(0, total - canaryCounts[component.Id]));
        steps.Add(new ScaleRevisionStep(component.Id, stableRevision, stableCount));
        if (canaryCounts[component.Id] + stableCount == 0)
        {
            return;
        }

        var canaryWeight = (int)Math.Round(100.0 * canaryCounts[component.Id] / (canaryCounts[component.Id] + stableCount), MidpointRounding.AwayFromZero);
        steps.Add(new SetTrafficStep(component.Id, canaryWeight >= 100
            ? new Dictionary<int, int> { [canaryRevision] = 100 }
            : canaryWeight <= 0 ? new Dictionary<int, int> { [stableRevision] = 100 } : new Dictionary<int, int> { [stableRevision] = 100 - canaryWeight, [canaryRevision] = canaryWeight }));
    }

    private static ComponentSpec? Find(RevisionSpec revision, string id)
        => revision.Spec.Components.FirstOrDefault(c => string.Equals(c.Id, id, StringComparison.Ordinal));
}
