using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies.Hooks;

namespace Bpi.Orchestration.Strategies.Rolling;

/// <summary>
/// Plans rolling updates. Per component, in dependency order, each batch: start new instances (bounded by the surge and
/// the batch size), wait until they are available, stop old ones (bounded by the unavailability and the batch size),
/// re-weight the route by instance count. The rollback is the same walk backwards from where the rollout stopped.
/// </summary>
internal sealed class RollingStrategy : IRolloutStrategy
{
    public string Name => RollingStrategySpec.StrategyName;

    public RolloutPlan Plan(RolloutContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var spec = Spec(context.Desired);
        var steps = new List<RolloutStep>();
        HookPlanner.Add(steps, spec.Hooks.PreRollout, HookPhase.PreRollout);
        if (context.Stable is not { } stable)
        {
            PlanPlanner.AddBringUp(steps, context.Desired);
        }
        else
        {
            foreach (var component in ComponentOrder.Sort(context.Desired.Spec.Components))
            {
                var old = Find(stable, component.Id);
                RollingPlanner.AddRoll(steps, component.Id, context.Desired.Number, component.Replicas, stable.Number, old?.Replicas ?? 0, 0, spec, component.Replicas);
            }

            foreach (var dropped in ComponentOrder.Sort(stable.Spec.Components).Reverse().Where(c => Find(context.Desired, c.Id) is null))
            {
                steps.Add(new ScaleRevisionStep(dropped.Id, stable.Number, 0));
            }

            PlanPlanner.AddRouteRemovalOfDroppedComponents(steps, stable, context.Desired);
        }

        HookPlanner.Add(steps, spec.Hooks.PostRollout, HookPhase.PostRollout);
        return new RolloutPlan(context.Desired.Spec.Name, RolloutKind.Rollout, Name, context.Stable?.Number, context.Desired.Number, steps);
    }

    public RolloutPlan PlanRollback(RolloutContext context, int failedAtStep)
    {
        ArgumentNullException.ThrowIfNull(context);
        var spec = Spec(context.Desired);
        var steps = new List<RolloutStep>();
        HookPlanner.Add(steps, spec.Hooks.OnAbort, HookPhase.OnAbort);
        if (context.Stable is not { } stable)
        {
            PlanPlanner.AddTearDown(steps, context.Desired);
            foreach (var component in context.Desired.Spec.Components)
            {
                steps.Add(new SetTrafficStep(component.Id, new Dictionary<int, int>()));
            }

            return new RolloutPlan(context.Desired.Spec.Name, RolloutKind.Rollback, Name, context.Desired.Number, 0, steps);
        }

        // Where did the rollout stop? Replay the plan up to the failed step, taking upper bounds for the step that was running.
        var plan = Plan(context);
        var counts = new Dictionary<(string, int), int>();
        foreach (var c in stable.Spec.Components)
        {
            counts[(c.Id, stable.Number)] = c.Replicas;
        }

        for (var i = 0; i < plan.Steps.Count && i <= failedAtStep; i++)
        {
            if (plan.Steps[i] is ScaleRevisionStep scale)
            {
                var key = (scale.ComponentId, scale.Revision);
                var before = counts.GetValueOrDefault(key);
                counts[key] = i == failedAtStep ? Math.Max(before, scale.Replicas) : scale.Replicas;
            }
        }

        // Components of the new revision, dependents first: roll back to the stable counts.
        foreach (var component in ComponentOrder.Sort(context.Desired.Spec.Components).Reverse())
        {
            var newCount = counts.GetValueOrDefault((component.Id, context.Desired.Number));
            var old = Find(stable, component.Id);
            var oldCount = counts.GetValueOrDefault((component.Id, stable.Number));
            if (old is null)
            {
                steps.Add(new ScaleRevisionStep(component.Id, context.Desired.Number, 0));
                steps.Add(new SetTrafficStep(component.Id, new Dictionary<int, int>()));
                continue;
            }

            if (newCount == 0 && oldCount == old.Replicas)
            {
                continue;
            }

            // The same walk with the roles swapped: the stable revision is "new", the failed one "old".
            RollingPlanner.AddRoll(steps, component.Id, stable.Number, old.Replicas, context.Desired.Number, newCount, oldCount, spec, old.Replicas);
        }

        // Components only the stable revision has, dependencies first: bring them back if the rollout removed them.
        foreach (var component in ComponentOrder.Sort(stable.Spec.Components).Where(c => Find(context.Desired, c.Id) is null))
        {
            if (counts.GetValueOrDefault((component.Id, stable.Number)) != component.Replicas)
            {
                steps.Add(new ScaleRevisionStep(component.Id, stable.Number, component.Replicas));
                steps.Add(new AwaitReadyStep(component.Id, stable.Number, component.Replicas));
            }

            steps.Add(new SetTrafficStep(component.Id, new Dictionary<int, int> { [stable.Number] = 100 }));
        }

        return new RolloutPlan(context.Desired.Spec.Name, RolloutKind.Rollback, Name, context.Desired.Number, stable.Number, steps);
    }

    private static RollingStrategySpec Spec(RevisionSpec revision) => revision.Spec.Strategy as RollingStrategySpec ?? new RollingStrategySpec();

    private static ComponentSpec? Find(RevisionSpec revision, string id)
        => revision.Spec.Components.FirstOrDefault(c => string.Equals(c.Id, id, StringComparison.Ordinal));
}
