namespace Bpi.Orchestration.Rollout.Steps;

/// <summary>Converges a component revision to the step's replica count.</summary>
internal sealed class ScaleRevisionHandler : RolloutStepHandler<ScaleRevisionStep>
{
    protected override ValueTask ExecuteAsync(ScaleRevisionStep step, RolloutStepContext context, CancellationToken cancellationToken)
        => context.EnsureReplicasAsync(step.ComponentId, step.Revision, step.Replicas, cancellationToken);
}
