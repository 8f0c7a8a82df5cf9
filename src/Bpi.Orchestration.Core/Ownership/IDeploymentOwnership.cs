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
    /// Confirms, before this instance acts on the runtime for the deployment (a step of a rollout or repair, a scale, a
    /// removal, a route change), that it still owns the deployment with a valid fencing token. Fencing refuses the record
    /// writes of an instance that lost the deployment, but an engine call cannot be refused afterwards: an instance that
    /// was paused past its lease must find out before it calls. Shared implementations check the lease against the
    /// database (a cheap statement, its answer cached for a short time within the lease's remaining validity). With one
    /// instance this is <see cref="ShouldAct"/> and costs nothing.
    /// </summary>
    /// <param name="deploymentId">The deployment id.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns><see langword="true"/> when this instance still owns the deployment; <see langword="false"/> when it must stop acting on it.</returns>
    ValueTask<bool> ConfirmAsync(string deploymentId, CancellationToken cancellationToken = default) => ValueTask.FromResult(ShouldAct(deploymentId));

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
    /// Hands a command on a deployment that another instance owns (<see cref="ShouldAct"/> is false here) to that owner
    /// and waits for the owner's outcome: it completes when the owner ran the command, throws the owner's
    /// <see cref="OrchestrationException"/> when the command failed there, and throws
    /// <see cref="OrchestrationErrorKind.Timeout"/> when no owner reported an outcome in time. With one instance the
    /// orchestrator never calls it (it owns every deployment).
    /// </summary>
    /// <param name="command">The command.</param>
    /// <param name="cancellationToken">Cancels waiting for the outcome (the command may still run).</param>
    /// <returns>A task that completes when the owner ran the command.</returns>
    /// <exception cref="OrchestrationException">The owner's error, <see cref="OrchestrationErrorKind.NotFound"/> for an unknown deployment, or <see cref="OrchestrationErrorKind.Timeout"/>.</exception>
    ValueTask SendToOwnerAsync(DeploymentCommand command, CancellationToken cancellationToken = default)
        => throw new OrchestrationException(
            OrchestrationErrorKind.Conflict,
            $"Deployment '{command?.DeploymentId}' is owned by another orchestrator instance and this ownership cannot send commands to it; send the command to the instance that owns it.");

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

    /// <summary>
    /// Runs a command another instance received for a deployment this instance owns (see
    /// <see cref="IDeploymentOwnership.SendToOwnerAsync"/>): as the command's actor, authorized and audited as if it had
    /// been received here.
    /// </summary>
    /// <param name="command">The command.</param>
    /// <param name="cancellationToken">Cancels running it.</param>
    /// <returns>A task that completes when the command ran.</returns>
    /// <exception cref="OrchestrationException">The command failed (its error is the outcome the sender receives).</exception>
    Task ExecuteCommandAsync(DeploymentCommand command, CancellationToken cancellationToken = default);
}

/// <summary>One orchestrator instance: it acts on every deployment and writes unfenced (token 0).</summary>
internal sealed class SingleInstanceOwnership : IDeploymentOwnership
{
    public static readonly SingleInstanceOwnership Instance = new();

    public bool ShouldAct(string deploymentId) => true;

    public long GetFencingToken(string deploymentId) => 0;

    public ValueTask ClaimNewAsync(string deploymentId, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
}
