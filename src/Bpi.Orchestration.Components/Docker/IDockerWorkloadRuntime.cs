using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>
/// The Docker runtime: an <see cref="IWorkloadRuntime"/> that runs each instance as a DockLock-hardened container, runs
/// commands inside them (<see cref="IWorkloadCommandRunner"/>, used by exec health probes), and reconciles orphans.
/// Resolve it from DI after <c>AddDocker()</c> (it is also registered as <see cref="IWorkloadRuntime"/>).
/// </summary>
public interface IDockerWorkloadRuntime : IWorkloadRuntime, IWorkloadCommandRunner, IAsyncDisposable
{
    /// <summary>
    /// Removes everything the engine holds for <paramref name="ownerId"/> (containers, networks and volumes carrying its
    /// <c>bpi.orchestration/owner</c> label) that does not belong to one of <paramref name="liveDeploymentIds"/>: leftovers
    /// of destroyed deployments and of deployments a crashed orchestrator no longer knows. Call it when the orchestrator
    /// starts, with the deployments its store knows, and after a failed or aborted rollout. Idempotent; objects of other
    /// owners are never touched.
    /// </summary>
    /// <param name="ownerId">The orchestrator's id (the <see cref="WorkloadRevision.OwnerId"/> it deploys with).</param>
    /// <param name="liveDeploymentIds">The deployments to keep.</param>
    /// <param name="cancellationToken">Cancels the call; what was removed stays removed.</param>
    /// <returns>What was removed.</returns>
    ValueTask<DockerReconcileResult> ReconcileAsync(string ownerId, IReadOnlySet<string> liveDeploymentIds, CancellationToken cancellationToken = default);
}

/// <summary>What <see cref="IDockerWorkloadRuntime.ReconcileAsync"/> removed.</summary>
/// <param name="RemovedDeployments">The ids of the deployments whose leftovers were removed (empty id for objects without a deployment label).</param>
/// <param name="RemovedContainers">How many containers were removed.</param>
/// <param name="RemovedNetworks">How many networks were removed.</param>
/// <param name="RemovedVolumes">How many volumes were removed.</param>
public sealed record DockerReconcileResult(IReadOnlyList<string> RemovedDeployments, int RemovedContainers, int RemovedNetworks, int RemovedVolumes)
{
    /// <summary>Whether anything was removed.</summary>
    public bool RemovedAnything => RemovedContainers + RemovedNetworks + RemovedVolumes > 0;
}
