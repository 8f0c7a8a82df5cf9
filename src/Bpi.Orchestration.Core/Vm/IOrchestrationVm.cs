using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration;

/// <summary>
/// The orchestrator: deploys, updates, scales and destroys deployments and drives their rollouts. Resolve it from DI
/// after <c>services.AddOrchestration(...)</c>. Every operation runs as <see cref="OrchestrationActor.Current"/>, is
/// authorized and is written to the audit trail. Operations that start a rollout return without waiting for it; follow
/// the rollout with <see cref="WatchAsync"/>, <see cref="WaitForStateAsync"/> or <see cref="GetStatusAsync"/>.
/// </summary>
/// <remarks>
/// A rollout that finds a free slot and nothing queued ahead of it starts on the calling thread and runs until its
/// first asynchronous wait (an engine call, a readiness poll) before the operation returns; from there it continues in
/// the background, and it runs without the caller's ambient state (actor, activity, cancellation). A runtime that
/// answers every call at once (the in-memory runtime without delays) therefore finishes the whole rollout before the
/// operation returns; that saves two thread switches per rollout. Subscribe with <see cref="WatchAsync"/> before the
/// operation to see every event of the rollout.
/// </remarks>
public interface IOrchestrationVm : IAsyncDisposable
{
    /// <summary>The orchestrator's id; it goes into the owner label of everything it creates.</summary>
    string VmId { get; }

    /// <summary>Starts the orchestrator: validates options, loads state and removes orphans the runtime reports. Idempotent; other operations start it on first use.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task that completes when the orchestrator accepts work.</returns>
    Task StartAsync(CancellationToken cancellationToken = default);

    /// <summary>Stops the orchestrator: running rollouts are cancelled where they stand (their cursor is stored) and no new work is accepted. Workloads keep running.</summary>
    /// <param name="cancellationToken">Cancels the wait for rollouts to stop.</param>
    /// <returns>A task that completes when every rollout has stopped.</returns>
    Task StopAsync(CancellationToken cancellationToken = default);

    /// <summary>Validates, authorizes, security-checks and reserves resources for a new deployment and queues its first rollout.</summary>
    /// <param name="spec">The deployment.</param>
    /// <param name="cancellationToken">Cancels the admission (not the rollout).</param>
    /// <returns>The new deployment's id; the rollout goes on in the background (see the remarks on <see cref="IOrchestrationVm"/>).</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>, <see cref="OrchestrationErrorKind.InsufficientResources"/>, <see cref="OrchestrationErrorKind.SecurityValidationFailed"/>, <see cref="OrchestrationErrorKind.Unauthorized"/> or <see cref="OrchestrationErrorKind.Conflict"/> (a live deployment with that name exists in the environment); nothing was reserved.</exception>
    Task<string> DeployAsync(DeploymentSpec spec, CancellationToken cancellationToken = default);

    /// <summary>
    /// Checks, doing nothing, that the current actor may perform each of <paramref name="verbs"/> on a new deployment of
    /// <paramref name="spec"/>, as the operations themselves will ask. A host that combines operations (deploy, then read
    /// the status to show it) asks for all of them first, so a denial comes before anything changed, not after.
    /// </summary>
    /// <param name="verbs">The verbs (<see cref="Security.OrchestrationVerbs"/>).</param>
    /// <param name="spec">The deployment to be.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when every verb is allowed.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.Unauthorized"/> for the first verb denied (audited as every denial).</exception>
    Task AuthorizeAsync(IEnumerable<string> verbs, DeploymentSpec spec, CancellationToken cancellationToken = default);

    /// <summary>Checks, doing nothing, that the current actor may perform each of <paramref name="verbs"/> on the deployment <paramref name="deploymentId"/> (see the overload for a new deployment).</summary>
    /// <param name="verbs">The verbs (<see cref="Security.OrchestrationVerbs"/>).</param>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when every verb is allowed.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.NotFound"/>, or <see cref="OrchestrationErrorKind.Unauthorized"/> for the first verb denied (audited as every denial).</exception>
    Task AuthorizeAsync(IEnumerable<string> verbs, string deploymentId, CancellationToken cancellationToken = default);

    /// <summary>A dry run: returns the plan a deployment (or an update of <paramref name="deploymentId"/>) would run, touching nothing.</summary>
    /// <param name="spec">The spec to plan.</param>
    /// <param name="deploymentId">The deployment to plan an update of, or <see langword="null"/> for a new deployment.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The plan.</returns>
    Task<RolloutPlan> PlanAsync(DeploymentSpec spec, string? deploymentId = null, CancellationToken cancellationToken = default);

    /// <summary>Returns a deployment's status.</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The status.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.NotFound"/>.</exception>
    Task<DeploymentStatus> GetStatusAsync(string deploymentId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The rollouts of a deployment that ended, oldest first (at most <see cref="OrchestrationOptions.RolloutHistoryLimit"/>):
    /// revision, strategy, who asked, outcome, and the split of its time between working and waiting. Stored with the
    /// deployment, so a durable store keeps it across restarts; it goes when the deployment is destroyed (the audit trail keeps every rollout).
    /// </summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The ended rollouts; the one running now, if any, is in <see cref="GetStatusAsync"/>.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.NotFound"/>.</exception>
    Task<IReadOnlyList<RolloutReport>> GetRolloutHistoryAsync(string deploymentId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The four DORA figures of an application in an environment — deployment frequency, lead time, change failure rate
    /// and time to restore — and the success rate, over the rollouts of its deployments that ended in the window.
    /// </summary>
    /// <param name="appId">The application.</param>
    /// <param name="environment">The environment.</param>
    /// <param name="window">How far back to look; <see langword="null"/> uses <see cref="OrchestrationOptions.DoraWindow"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The figures (NaN rates and <see langword="null"/> times when nothing ended in the window).</returns>
    Task<DoraReport> GetDoraAsync(string appId, string environment, TimeSpan? window = null, CancellationToken cancellationToken = default);

    /// <summary>Lists deployments matching a query, with totals and resource utilization.</summary>
    /// <param name="query">Filters; <see langword="null"/> lists every deployment that is not destroyed.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The matching deployments and totals.</returns>
    Task<DeploymentList> ListAsync(DeploymentQuery? query = null, CancellationToken cancellationToken = default);

    /// <summary>Changes the replica count of one component (or of every component) of the serving revision.</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="replicas">The new replica count.</param>
    /// <param name="componentId">The component, or <see langword="null"/> for every component.</param>
    /// <param name="cancellationToken">Cancels the admission.</param>
    /// <returns>A task that completes when the scale is queued.</returns>
    Task ScaleAsync(string deploymentId, int replicas, string? componentId = null, CancellationToken cancellationToken = default);

    /// <summary>Rolls out a new revision with the deployment's strategy (the new spec's).</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="spec">The new spec; its name and app id must match the deployment's.</param>
    /// <param name="cancellationToken">Cancels the admission.</param>
    /// <returns>The new revision number.</returns>
    Task<int> UpdateAsync(string deploymentId, DeploymentSpec spec, CancellationToken cancellationToken = default);

    /// <summary>Rolls out a retained earlier revision again (as a new revision), with the deployment's strategy.</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="toRevision">The revision to return to, or <see langword="null"/> for the one before the serving revision.</param>
    /// <param name="cancellationToken">Cancels the admission.</param>
    /// <returns>The new revision number.</returns>
    Task<int> RollbackAsync(string deploymentId, int? toRevision = null, CancellationToken cancellationToken = default);

    /// <summary>Destroys a deployment: stops its rollout, removes every instance and route, releases its resources.</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="force">Skip the graceful scale-down and the rollback of a running rollout; remove everything at once.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the deployment is destroyed.</returns>
    Task DestroyAsync(string deploymentId, bool force = false, CancellationToken cancellationToken = default);

    /// <summary>Pauses a running rollout at the next safe point (between steps, or inside a wait).</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the pause is recorded.</returns>
    Task PauseAsync(string deploymentId, CancellationToken cancellationToken = default);

    /// <summary>Resumes a paused rollout where it stopped.</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the rollout is resumed.</returns>
    Task ResumeAsync(string deploymentId, CancellationToken cancellationToken = default);

    /// <summary>Aborts a queued or running rollout; it is rolled back to the stable revision.</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the abort is requested (follow the rollback with <see cref="WatchAsync"/>).</returns>
    Task AbortAsync(string deploymentId, CancellationToken cancellationToken = default);

    /// <summary>Promotes a rollout that waits at a pause step: the pause ends and the rollout continues.</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the promotion is recorded.</returns>
    Task PromoteAsync(string deploymentId, CancellationToken cancellationToken = default);

    /// <summary>Approves the approval gate a rollout waits at, as the current actor.</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="gate">The gate's name.</param>
    /// <param name="comment">An optional comment for the audit trail.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the decision is recorded.</returns>
    Task ApproveAsync(string deploymentId, string gate, string? comment = null, CancellationToken cancellationToken = default);

    /// <summary>Rejects the approval gate a rollout waits at, as the current actor; the rollout is rolled back.</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="gate">The gate's name.</param>
    /// <param name="comment">An optional comment for the audit trail.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the decision is recorded.</returns>
    Task RejectAsync(string deploymentId, string gate, string? comment = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits until a deployment's state satisfies <paramref name="predicate"/> (at once if it does now) and returns its
    /// status. A queued rollout of the deployment that is next in line when a slot is free starts on the calling thread
    /// rather than wait for a worker, as <c>Task.Wait</c> inlines a task that has not started.
    /// </summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="predicate">The condition on the state, for example <see cref="DeploymentStateExtensions.IsSettled"/>.</param>
    /// <param name="cancellationToken">Cancels the wait; pass a token with a timeout to bound it.</param>
    /// <returns>The status once the condition holds.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.NotFound"/>.</exception>
    Task<DeploymentStatus> WaitForStateAsync(string deploymentId, Func<DeploymentState, bool> predicate, CancellationToken cancellationToken = default);

    /// <summary>
    /// Streams events of one deployment (or of all when <paramref name="deploymentId"/> is <see langword="null"/>) as they
    /// happen, in order, from the moment of this call. The stream ends when <paramref name="cancellationToken"/> is
    /// cancelled or the orchestrator is disposed.
    /// </summary>
    /// <param name="deploymentId">The deployment, or <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The events.</returns>
    IAsyncEnumerable<DeploymentEvent> WatchAsync(string? deploymentId = null, CancellationToken cancellationToken = default);

    /// <summary>Returns the orchestrator's own state.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The state.</returns>
    Task<VmState> GetStateAsync(CancellationToken cancellationToken = default);
}
