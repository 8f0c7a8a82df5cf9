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

    /// <summary>
    /// Called by the orchestrator once it has loaded its deployments and started: from now on the ownership tells
    /// <paramref name="host"/> when this instance gains a deployment (take it over at its stored cursor), loses it (stop
    /// acting at once) or when another instance changed one (refresh what reads answer). With one instance this does nothing.
    /// </summary>
    /// <param name="host">The orchestrator.</param>
    /// <param name="cancellationToken">Cancels starting.</param>
    /// <returns>A task that completes when the ownership runs.</returns>
    ValueTask StartAsync(IOwnedDeploymentsHost host, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    /// <summary>
    /// Called by the orchestrator when it stops, after every plan run stopped where it stood: gives up what this
    /// instance holds so other instances take it over at once. With one instance this does nothing.
    /// </summary>
    /// <param name="cancellationToken">Cancels stopping.</param>
    /// <returns>A task that completes when everything held is released.</returns>
    ValueTask StopAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
}

/// <summary>
/// What an <see cref="IDeploymentOwnership"/> shared by several instances tells the orchestrator of this instance.
/// Implemented by the orchestrator; the ownership calls it from its own loop (never concurrently for one deployment).
/// </summary>
public interface IOwnedDeploymentsHost
{
    /// <summary>
    /// This instance now owns the deployment (a new lease, or one taken over from an instance that died): the stored
    /// record is read again and an unfinished rollout, rollback or destroy resumes at its stored cursor; self-healing
    /// looks after it from now on.
    /// </summary>
    /// <param name="deploymentId">The deployment id.</param>
    /// <param name="cancellationToken">Cancels taking over.</param>
    /// <returns>A task that completes when the deployment's work is queued.</returns>
    Task AcquiredAsync(string deploymentId, CancellationToken cancellationToken = default);

    /// <summary>
    /// This instance no longer owns the deployment (or could not renew and is about to lose it): the plan running for
    /// it is stopped where it stands (its cursor stays stored for the next owner) and repairs are cancelled.
    /// </summary>
    /// <param name="deploymentId">The deployment id.</param>
    /// <returns>A task that completes when the stop is requested.</returns>
    Task LostAsync(string deploymentId);

    /// <summary>
    /// Another instance created or changed a deployment this instance does not own: its record is read again, so status,
    /// lists and waits on this instance answer what the database holds.
    /// </summary>
    /// <param name="deploymentId">The deployment id.</param>
    /// <param name="cancellationToken">Cancels the refresh.</param>
    /// <returns>A task that completes when the record is refreshed.</returns>
    Task RefreshAsync(string deploymentId, CancellationToken cancellationToken = default);
}

/// <summary>One orchestrator instance: it acts on every deployment and writes unfenced (token 0).</summary>
internal sealed class SingleInstanceOwnership : IDeploymentOwnership
{
    public static readonly SingleInstanceOwnership Instance = new();

    public bool ShouldAct(string deploymentId) => true;

    public long GetFencingToken(string deploymentId) => 0;

    public ValueTask ClaimNewAsync(string deploymentId, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
}
