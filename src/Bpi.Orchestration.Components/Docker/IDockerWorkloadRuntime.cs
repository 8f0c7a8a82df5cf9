using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>
/// The Docker runtime: an <see cref="IWorkloadRuntime"/> that runs each instance as a DockLock-hardened container, runs
/// commands inside them (<see cref="IWorkloadCommandRunner"/>, used by exec health probes), hands out each container's
/// <c>docker inspect</c> document (<see cref="IWorkloadInspector"/>, used by the Security package's runtime assessment),
/// imports images (<see cref="IDockerImageImporter"/>), and reconciles orphans. Resolve it from DI after
/// <c>AddDocker()</c> (it is also registered as <see cref="IWorkloadRuntime"/>, <see cref="IWorkloadInspector"/> and
/// <see cref="IDockerImageImporter"/>). The instance also implements <see cref="IWorkloadEvents"/> (from the engine's
/// events stream), which is how self-healing learns of a container that died or was removed.
/// </summary>
public interface IDockerWorkloadRuntime : IWorkloadRuntime, IWorkloadCommandRunner, IWorkloadInspector, IDockerImageImporter, IAsyncDisposable
{
    /// <summary>
    /// Lists what the engine holds for <paramref name="ownerId"/>: the containers, networks and volumes carrying its
    /// <c>bpi.orchestration/owner</c> label, whatever deployment they belong to — what <see cref="ReconcileAsync"/> with
    /// no live deployment would remove. Asks the engine, not the orchestrator's bookkeeping.
    /// </summary>
    /// <param name="ownerId">The orchestrator's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The names of the owner's objects.</returns>
    ValueTask<DockerOwnedObjects> ListOwnedObjectsAsync(string ownerId, CancellationToken cancellationToken = default);

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

/// <summary>What the engine holds for one owner (<see cref="IDockerWorkloadRuntime.ListOwnedObjectsAsync"/>).</summary>
/// <param name="Containers">The containers' names (without the leading <c>/</c>), running or not.</param>
/// <param name="Networks">The networks' names.</param>
/// <param name="Volumes">The volumes' names.</param>
public sealed record DockerOwnedObjects(IReadOnlyList<string> Containers, IReadOnlyList<string> Networks, IReadOnlyList<string> Volumes)
{
    /// <summary>Whether the owner has nothing on the engine.</summary>
    public bool IsEmpty => Containers.Count + Networks.Count + Volumes.Count == 0;
}
