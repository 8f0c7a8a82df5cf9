namespace Bpi.Orchestration.Ownership;

/// <summary>
/// The one place that decides whether this orchestrator instance acts on a deployment: runs, resumes and repairs it.
/// With one instance (the default) it acts on every deployment. With several instances on shared state (the PostgreSQL
/// package) each deployment is acted on by the one instance holding its lease, and every write of the deployment's
/// record carries the lease's fencing token (<see cref="State.DeploymentRecord.FencingToken"/>), so an instance that lost
/// the lease can no longer write it. Everything that would change a deployment on its own initiative — the rollout
/// runner, resume after a restart, a reconciler — asks <see cref="ShouldAct"/> first.
/// </summary>
public interface IDeploymentOwnership
{
    /// <summary>Whether this instance should act on the deployment now.</summary>
    /// <param name="deploymentId">The deployment id.</param>
    /// <returns><see langword="true"/> when this instance owns the deployment (always, with one instance).</returns>
    bool ShouldAct(string deploymentId);

    /// <summary>The fencing token this instance writes the deployment's record with; 0 when state is not shared.</summary>
    /// <param name="deploymentId">The deployment id.</param>
    /// <returns>The token of this instance's lease on the deployment, or 0.</returns>
    long GetFencingToken(string deploymentId);

    /// <summary>
    /// Takes ownership of a deployment this instance just created (before its record is first saved), so the instance
    /// that accepted it runs it. With one instance this does nothing.
    /// </summary>
    /// <param name="deploymentId">The new deployment's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the deployment is owned.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.Conflict"/>: another instance owns it.</exception>
    ValueTask ClaimNewAsync(string deploymentId, CancellationToken cancellationToken = default);
}

/// <summary>One orchestrator instance: it acts on every deployment and writes unfenced (token 0).</summary>
internal sealed class SingleInstanceOwnership : IDeploymentOwnership
{
    public static readonly SingleInstanceOwnership Instance = new();

    public bool ShouldAct(string deploymentId) => true;

    public long GetFencingToken(string deploymentId) => 0;

    public ValueTask ClaimNewAsync(string deploymentId, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
}
