namespace Bpi.Orchestration.Rollout;

/// <summary>
/// Compiles a change from a stable revision to a desired one into a <see cref="RolloutPlan"/>, and plans the way back.
/// Plans must be deterministic (the same inputs give the same steps) so an interrupted rollout can be resumed at the
/// stored step index. Register with <c>builder.AddStrategy&lt;T&gt;()</c>; the VM picks the strategy whose
/// <see cref="Name"/> equals the spec's <see cref="StrategySpec.Name"/>.
/// </summary>
public interface IRolloutStrategy
{
    /// <summary>The strategy's name, matching <see cref="StrategySpec.Name"/>.</summary>
    string Name { get; }

    /// <summary>Plans the rollout of <see cref="RolloutContext.Desired"/>.</summary>
    /// <param name="context">The stable and desired revisions.</param>
    /// <returns>The plan.</returns>
    RolloutPlan Plan(RolloutContext context);

    /// <summary>Plans the return to <see cref="RolloutContext.Stable"/> (or the removal of everything when there is none) after a rollout failed or was aborted.</summary>
    /// <param name="context">The stable and desired revisions.</param>
    /// <param name="failedAtStep">The index of the step that failed or was running when the rollout was aborted.</param>
    /// <returns>The rollback plan.</returns>
    RolloutPlan PlanRollback(RolloutContext context, int failedAtStep);
}

/// <summary>The input of a strategy: what is serving and what should.</summary>
/// <param name="DeploymentId">The deployment id.</param>
/// <param name="Stable">The revision serving now, or <see langword="null"/> for a first deployment.</param>
/// <param name="Desired">The revision to roll out.</param>
/// <param name="HasTrafficRouter">Whether a traffic router is registered (without one, weights are approximated by replica ratios).</param>
public sealed record RolloutContext(string DeploymentId, RevisionSpec? Stable, RevisionSpec Desired, bool HasTrafficRouter);

/// <summary>A numbered revision of a deployment and the spec it runs.</summary>
/// <param name="Number">The revision number, 1 for the first deployment.</param>
/// <param name="Spec">The spec of that revision.</param>
public sealed record RevisionSpec(int Number, DeploymentSpec Spec);
