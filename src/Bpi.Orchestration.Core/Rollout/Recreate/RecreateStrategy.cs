namespace Bpi.Orchestration.Rollout.Recreate;

/// <summary>
/// The recreate strategy: stop every instance of the stable revision (dependents first), then start the desired
/// revision (dependencies first), wait until each component is ready, and route all traffic to it. Downtime is
/// expected. The rollback removes the desired revision and brings the stable one back the same way.
/// </summary>
internal sealed class RecreateStrategy : IRolloutStrategy
{
    public string Name => RecreateStrategySpec.StrategyName;

    public RolloutPlan Plan(RolloutContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var steps = new List<RolloutStep>();
        if (context.Stable is { } stable)
        {
            PlanPlanner.AddTearDown(steps, stable);
        }

        PlanPlanner.AddBringUp(steps, context.Desired);
        if (context.Stable is { } old)
        {
            PlanPlanner.AddRouteRemovalOfDroppedComponents(steps, old, context.Desired);
        }

        return new RolloutPlan(context.Desired.Spec.Name, RolloutKind.Rollout, Name, context.Stable?.Number, context.Desired.Number, steps);
    }

    public RolloutPlan PlanRollback(RolloutContext context, int failedAtStep)
    {
        ArgumentNullException.ThrowIfNull(context);
        var steps = new List<RolloutStep>();
        PlanPlanner.AddTearDown(steps, context.Desired);
        if (context.Stable is { } stable)
        {
            PlanPlanner.AddBringUp(steps, stable);
            PlanPlanner.AddRouteRemovalOfDroppedComponents(steps, context.Desired, stable);
        }
        else
        {
            foreach (var component in context.Desired.Spec.Components)
            {
                steps.Add(new SetTrafficStep(component.Id, TrafficWeights.None));
            }
        }

        return new RolloutPlan(context.Desired.Spec.Name, RolloutKind.Rollback, Name, context.Desired.Number, context.Stable?.Number ?? 0, steps);
    }
}
