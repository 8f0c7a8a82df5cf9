using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.Hooks;

namespace Bpi.Orchestration.Strategies.BlueGreen;

/// <summary>
/// Plans blue-green rollouts. The rollback switches traffic back to blue first; while blue still runs (until its
/// scale-down), that is all it takes — nothing is started. After blue was scaled down it is brought back up.
/// </summary>
internal sealed class BlueGreenStrategy : IRolloutStrategy
{
    public string Name => BlueGreenStrategySpec.StrategyName;

    public RolloutPlan Plan(RolloutContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var spec = Spec(context);
        var green = context.Desired;
        var steps = new List<RolloutStep>();
        HookPlanner.Add(steps, spec.Hooks.PreRollout, HookPhase.PreRollout);
        if (context.Stable is not { } blue)
        {
            PlanPlanner.AddBringUp(steps, green);
            HookPlanner.Add(steps, spec.Hooks.PostRollout, HookPhase.PostRollout);
            return new RolloutPlan(green.Spec.Name, RolloutKind.Rollout, Name, null, green.Number, steps);
        }

        var components = ComponentOrder.Sort(green.Spec.Components);
        var analysisComponent = spec.AnalysisComponent ?? components.FirstOrDefault(c => c.Ports.Count > 0)?.Id ?? components[0].Id;
        foreach (var component in components)
        {
            var preview = Math.Min(spec.PreviewReplicas ?? component.Replicas, component.Replicas);
            steps.Add(new ScaleRevisionStep(component.Id, green.Number, preview));
            steps.Add(new AwaitReadyStep(component.Id, green.Number, preview));
            if (spec.PreviewRoute)
            {
                steps.Add(new PreviewRouteStep(component.Id, green.Number));
            }
        }

        if (spec.PrePromotionAnalysis is { } pre)
        {
            steps.Add(new AnalysisStep(pre, analysisComponent, green.Number, blue.Number) { Purpose = "pre-promotion" });
        }

        switch (spec.Promotion)
        {
            case BlueGreenPromotion.Manual:
                steps.Add(new PauseStep(null));
                break;
            case BlueGreenPromotion.AutomaticAfterDelay:
                steps.Add(new PauseStep(spec.AutoPromotionDelay));
                break;
        }

        foreach (var component in components.Where(c => (spec.PreviewReplicas ?? c.Replicas) < c.Replicas))
        {
            steps.Add(new ScaleRevisionStep(component.Id, green.Number, component.Replicas));
            steps.Add(new AwaitReadyStep(component.Id, green.Number, component.Replicas));
        }

        var switched = false;
        foreach (var traffic in spec.TrafficSteps)
        {
            foreach (var component in components)
            {
                steps.Add(new SetTrafficStep(component.Id, Weights(blue, green, component.Id, traffic.Weight)));
            }

            switched = traffic.Weight == 100;
            if (traffic.Analysis is { } validation)
            {
                steps.Add(new AnalysisStep(validation, analysisComponent, green.Number, blue.Number) { Purpose = $"{traffic.Weight}% validation" });
            }

            if (traffic.Duration > TimeSpan.Zero)
            {
                steps.Add(new PauseStep(traffic.Duration));
            }
        }

        if (!switched)
        {
            foreach (var component in components)
            {
                steps.Add(new SetTrafficStep(component.Id, new Dictionary<int, int> { [green.Number] = 100 }));
            }
        }

        if (spec.PostPromotionAnalysis is { } post)
        {
            steps.Add(new AnalysisStep(post, analysisComponent, green.Number, blue.Number) { Purpose = "post-promotion" });
        }

        if (spec.ScaleDownDelay > TimeSpan.Zero)
        {
            steps.Add(new PauseStep(spec.ScaleDownDelay));
        }

        if (spec.PreviewRoute)
        {
            foreach (var component in components)
            {
                steps.Add(new PreviewRouteStep(component.Id, null));
            }
        }

        foreach (var component in ComponentOrder.Sort(blue.Spec.Components).Reverse())
        {
            steps.Add(new ScaleRevisionStep(component.Id, blue.Number, 0));
        }

        PlanPlanner.AddRouteRemovalOfDroppedComponents(steps, blue, green);
        HookPlanner.Add(steps, spec.Hooks.PostRollout, HookPhase.PostRollout);
        return new RolloutPlan(green.Spec.Name, RolloutKind.Rollout, Name, blue.Number, green.Number, steps);
    }

    public RolloutPlan PlanRollback(RolloutContext context, int failedAtStep)
    {
        ArgumentNullException.ThrowIfNull(context);
        var spec = Spec(context);
        var green = context.Desired;
        var steps = new List<RolloutStep>();
        HookPlanner.Add(steps, spec.Hooks.OnAbort, HookPhase.OnAbort);
        if (context.Stable is not { } blue)
        {
            PlanPlanner.AddTearDown(steps, green);
            foreach (var component in green.Spec.Components)
            {
                steps.Add(new SetTrafficStep(component.Id, new Dictionary<int, int>()));
                steps.Add(new PreviewRouteStep(component.Id, null));
            }

            return new RolloutPlan(green.Spec.Name, RolloutKind.Rollback, Name, green.Number, 0, steps);
        }

        var plan = Plan(context);
        var blueScaleDown = plan.Steps.ToList().FindIndex(s => s is ScaleRevisionStep scale && scale.Revision == blue.Number);
        var blueIntact = blueScaleDown < 0 || failedAtStep < blueScaleDown;
        foreach (var component in ComponentOrder.Sort(blue.Spec.Components))
        {
            if (!blueIntact)
            {
                steps.Add(new ScaleRevisionStep(component.Id, blue.Number, component.Replicas));
                steps.Add(new AwaitReadyStep(component.Id, blue.Number, component.Replicas));
            }

            steps.Add(new SetTrafficStep(component.Id, new Dictionary<int, int> { [blue.Number] = 100 }));
        }

        foreach (var component in ComponentOrder.Sort(green.Spec.Components).Reverse())
        {
            steps.Add(new PreviewRouteStep(component.Id, null));
            steps.Add(new ScaleRevisionStep(component.Id, green.Number, 0));
            if (!blue.Spec.Components.Any(c => string.Equals(c.Id, component.Id, StringComparison.Ordinal)))
            {
                steps.Add(new SetTrafficStep(component.Id, new Dictionary<int, int>()));
            }
        }

        return new RolloutPlan(green.Spec.Name, RolloutKind.Rollback, Name, green.Number, blue.Number, steps);
    }

    private static BlueGreenStrategySpec Spec(RolloutContext context) => context.Desired.Spec.Strategy as BlueGreenStrategySpec ?? new BlueGreenStrategySpec();

    private static Dictionary<int, int> Weights(RevisionSpec blue, RevisionSpec green, string componentId, int weight)
        => weight >= 100 || !blue.Spec.Components.Any(c => string.Equals(c.Id, componentId, StringComparison.Ordinal))
            ? new Dictionary<int, int> { [green.Number] = 100 }
            : new Dictionary<int, int> { [blue.Number] = 100 - weight, [green.Number] = weight };
}
