namespace Bpi.Orchestration.Runtime;

/// <summary>
/// An optional capability of an <see cref="IWorkloadRuntime"/>: remove one given instance, so self-healing can replace
/// an instance that still runs but fails its liveness check. Without it only instances that ended are replaced (they go
/// first when <see cref="IWorkloadRuntime.EnsureReplicasAsync"/> removes a surplus).
/// </summary>
public interface IWorkloadInstanceRemover
{
    /// <summary>Stops and removes one instance of a deployment. Idempotent: an instance that is gone already is no error.</summary>
    /// <param name="deploymentId">The deployment the instance belongs to.</param>
    /// <param name="instanceId">The instance (<see cref="WorkloadInstance.InstanceId"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the instance is gone.</returns>
    ValueTask RemoveInstanceAsync(string deploymentId, string instanceId, CancellationToken cancellationToken = default);
}
