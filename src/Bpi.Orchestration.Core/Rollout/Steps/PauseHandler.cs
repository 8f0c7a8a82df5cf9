namespace Bpi.Orchestration.Rollout.Steps;

/// <summary>Pauses for the step's duration, or until the rollout is promoted.</summary>
internal sealed class PauseHandler : RolloutStepHandler<PauseStep>
{
    protected override async ValueTask ExecuteAsync(PauseStep step, RolloutStepContext context, CancellationToken cancellationToken)
        => await context.WaitForPromotionAsync(step.Duration, cancellationToken).ConfigureAwait(false);
}

/// <summary>
/// Core's approval handler: waits for the gate's approvals through the VM (refusing the requester when the gate asks
/// for four eyes); a rejection or a timeout fails the rollout. Webhook gates and escalations other than
/// <see cref="GateEscalation.Reject"/> need the Strategies package, which replaces this handler.
/// </summary>
internal sealed class AwaitApprovalHandler : RolloutStepHandler<AwaitApprovalStep>
{
    protected override async ValueTask ExecuteAsync(AwaitApprovalStep step, RolloutStepContext context, CancellationToken cancellationToken)
    {
        var gate = step.Gate;
        if (gate.Webhook is not null || gate.Escalation != GateEscalation.Reject)
        {
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"Approval gate '{gate.Name}' uses {(gate.Webhook is not null ? "a webhook" : $"escalation {gate.Escalation}")}, which Core does not run; add the Strategies package (.AddStrategies()).");
        }

        var requester = context.RequestedBy;
        var options = new ApprovalWaitOptions
        {
            RequiredApprovals = gate.RequiredApprovals,
            Timeout = gate.Timeout,
            ApproverCheck = gate.ApproverMustDifferFromRequester
                ? actor => string.Equals(actor, requester, StringComparison.Ordinal) ? $"the rollout was requested by '{requester}', and gate '{gate.Name}' needs an approver other than the requester" : null
                : null,
        };
        var result = await context.WaitForApprovalAsync(gate.Name, options, cancellationToken).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case ApprovalOutcome.Approved:
                return;
            case ApprovalOutcome.Rejected:
                throw new OrchestrationException(OrchestrationErrorKind.DeploymentFailed, $"Approval gate '{gate.Name}' was {result.Detail}.");
            default:
                throw new OrchestrationException(OrchestrationErrorKind.Timeout, $"Approval gate '{gate.Name}' was not approved within {gate.Timeout}; the rollout is rolled back.");
        }
    }
}
