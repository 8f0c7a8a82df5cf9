namespace Bpi.Orchestration.Runtime;

/// <summary>
/// Runs workloads at the level of a revision's replica set (as Argo Rollouts manages ReplicaSets): converge a
/// component revision to N instances, report each instance's state and endpoint, remove them, and list everything
/// this orchestrator owns. Implementations: in-memory (Testing), local processes, Docker, Kubernetes.
/// </summary>
/// <remarks>
/// Every call is idempotent: calling <see cref="EnsureReplicasAsync"/> twice with the same count changes nothing the
/// second time, so the executor can safely re-run a step after a crash. Everything the runtime creates carries the
/// <c>bpi.orchestration/*</c> labels of <see cref="WorkloadLabels"/>. Implementations must be safe for concurrent
/// calls on different deployments.
/// </remarks>
public interface IWorkloadRuntime
{
    /// <summary>A short name for the runtime, for example <c>in-memory</c>, <c>process</c> or <c>docker</c>.</summary>
    string Name { get; }

    /// <summary>
    /// Converges the instances of one component revision to exactly <paramref name="replicas"/>: creates and starts the
    /// missing ones, removes the surplus (failed and not-ready ones first, then the newest). Instances that failed are
    /// counted (and kept, for inspection) until removed, so a failure is visible to the caller rather than hidden by a
    /// replacement. Returns once the new instances have been started; readiness is observed with
    /// <see cref="GetInstancesAsync"/>.
    /// </summary>
    /// <param name="revision">What to run.</param>
    /// <param name="replicas">How many instances must exist afterwards; 0 removes them all.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the runtime has converged.</returns>
    /// <exception cref="OrchestrationException">The runtime failed (<see cref="OrchestrationErrorKind.ContainerStartupFailed"/>, <see cref="OrchestrationErrorKind.RuntimeUnavailable"/>, …).</exception>
    ValueTask EnsureReplicasAsync(WorkloadRevision revision, int replicas, CancellationToken cancellationToken = default);

    /// <summary>Lists the instances of a deployment, optionally of one component and one revision.</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="componentId">Only this component, or all when <see langword="null"/>.</param>
    /// <param name="revision">Only this revision, or all when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The instances with their current state, health and endpoints.</returns>
    ValueTask<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(string deploymentId, string? componentId = null, int? revision = null, CancellationToken cancellationToken = default);

    /// <summary>Removes every instance and every supporting resource (networks, volumes) of a deployment. Idempotent.</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when nothing of the deployment is left.</returns>
    ValueTask RemoveDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists every instance that carries the SDK's <see cref="WorkloadLabels.Owner"/> label (of any owner, with
    /// <see cref="WorkloadInstance.OwnerId"/> set), for reconciliation and orphan cleanup; the orchestrator keeps only its own.
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Every owned instance.</returns>
    ValueTask<IReadOnlyList<WorkloadInstance>> ListOwnedAsync(CancellationToken cancellationToken = default);

    /// <summary>Returns the last lines an instance wrote (stdout and stderr interleaved), oldest first.</summary>
    /// <param name="instanceId">The instance.</param>
    /// <param name="lines">At most this many lines.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The lines; empty when the runtime keeps no logs.</returns>
    ValueTask<IReadOnlyList<string>> GetLogTailAsync(string instanceId, int lines, CancellationToken cancellationToken = default);
}
