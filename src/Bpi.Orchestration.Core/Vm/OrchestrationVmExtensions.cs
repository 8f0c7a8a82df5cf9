namespace Bpi.Orchestration;

/// <summary>Conveniences on <see cref="IOrchestrationVm"/>.</summary>
public static class OrchestrationVmExtensions
{
    /// <summary>
    /// Waits until a deployment settles (Running, RolledBack, Failed or Destroyed) and returns its status. It is signalled
    /// by the state change itself (no polling), so it returns as soon as the deployment settles.
    /// </summary>
    /// <param name="vm">The orchestrator.</param>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="cancellationToken">Cancels the wait; pass a timeout token to bound it.</param>
    /// <returns>The settled status.</returns>
    public static Task<DeploymentStatus> WaitUntilSettledAsync(this IOrchestrationVm vm, string deploymentId, CancellationToken cancellationToken = default)
        => (vm ?? throw new ArgumentNullException(nameof(vm))).WaitForStateAsync(deploymentId, static s => s.IsSettled(), cancellationToken);

    /// <summary>
    /// Reports that a verification of the audit trail failed, so watchers of the orchestrator's events (alerts among them)
    /// hear of it: the orchestrator publishes a <see cref="DeploymentEventKind.AuditVerificationFailed"/> event with an
    /// empty deployment id and logs an error. Hosts that verify the trail (the HTTP API's <c>/audit/verify</c>, a CLI)
    /// call it when the verification fails. An <see cref="IOrchestrationVm"/> other than the SDK's own ignores it.
    /// </summary>
    /// <param name="vm">The orchestrator.</param>
    /// <param name="message">What failed (the verifier's message), in one line.</param>
    public static void ReportAuditVerificationFailed(this IOrchestrationVm vm, string message)
    {
        ArgumentNullException.ThrowIfNull(vm);
        ArgumentException.ThrowIfNullOrWhiteSpace(message);
        if (vm is OrchestrationVm own)
        {
            own.ReportAuditVerificationFailed(message);
        }
    }
}
