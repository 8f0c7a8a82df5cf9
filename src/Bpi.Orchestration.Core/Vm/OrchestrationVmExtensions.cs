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
}
