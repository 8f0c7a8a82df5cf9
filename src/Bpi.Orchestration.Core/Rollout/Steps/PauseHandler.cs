namespace Bpi.Orchestration.Rollout.Steps;

/// <summary>Pauses for the step's duration, or until the rollout is promoted.</summary>
internal sealed class PauseHandler : RolloutStepHandler<PauseStep>
{
    protected override async ValueTask ExecuteAsync(PauseStep step, RolloutStepContext context, CancellationToken cancellationToken)
        => await context.WaitForPromotionAsync(step.Duration, cancellationToken).ConfigureAwait(false);
}

/// <summary>Waits for an approval gate; a rejection or a timeout fails the rollout.</summary>
internal sealed class AwaitApprovalHandler : RolloutStepHandler<AwaitApprovalStep>
{
    protected override async ValueTask ExecuteAsync(AwaitApprovalStep step, RolloutStepContext context, CancellationToken cancellationToken)
    {
        var result = await context.WaitForApprovalAsync(step.Gate, step.RequiredApprovals, step.Timeout, cancellationToken).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case ApprovalOutcome.Approved:
                return;
            case ApprovalOutcome.Rejected:
                throw new OrchestrationException(OrchestrationErrorKind.DeploymentFailed, $"Approval gate '{step.Gate}' was {result.Detail}.");
            default:
                throw new OrchestrationException(OrchestrationErrorKind.Timeout, $"Approval gate '{step.Gate}' was not approved within {step.Timeout}; the rollout is rolled back.");
        }
    }
}
