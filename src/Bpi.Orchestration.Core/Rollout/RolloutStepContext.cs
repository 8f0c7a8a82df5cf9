using Bpi.Orchestration.Health;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.Logging;
using Polly;

namespace Bpi.Orchestration.Rollout;

/// <summary>What a step handler may use while it executes a step of one deployment's plan.</summary>
public sealed class RolloutStepContext
{
    private readonly IRolloutHost _host;
    private readonly RuntimeRetry _runtimePipeline;
    private readonly IProgress<string> _progress;

    internal RolloutStepContext(
        IRolloutHost host,
        string ownerId,
        IWorkloadRuntime runtime,
        ITrafficRouter? router,
        IReadOnlyList<IHealthProbe> probes,
        TimeProvider timeProvider,
        ILogger logger,
        RuntimeRetry runtimePipeline)
    {
        _host = host;
        OwnerId = ownerId;
        Runtime = runtime;
        Router = router;
        Probes = probes;
        TimeProvider = timeProvider;
        Logger = logger;
        _runtimePipeline = runtimePipeline;
        _progress = new HostProgress(host);
    }

    /// <summary>
    /// Whether self-healing found an instance not ready (failing its readiness check): a route leaves it out until it
    /// passes again. Asked of the deployment's host; a host without self-healing leaves every running instance in.
    /// </summary>
    internal bool IsOutOfTraffic(string instanceId) => _host.IsOutOfTraffic(instanceId);

    /// <summary>The deployment id.</summary>
    public string DeploymentId => _host.DeploymentId;

    /// <summary>The id of the orchestrator (the owner label).</summary>
    public string OwnerId { get; }

    /// <summary>The workload runtime.</summary>
    public IWorkloadRuntime Runtime { get; }

    /// <summary>The traffic router, or <see langword="null"/> when none is registered.</summary>
    public ITrafficRouter? Router { get; }

    /// <summary>The registered health probes.</summary>
    public IReadOnlyList<IHealthProbe> Probes { get; }

    /// <summary>The clock for every delay and deadline.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>A logger for the rollout.</summary>
    public ILogger Logger { get; }

    /// <summary>The plan being executed (set by the executor before its first step), so a handler can see the revisions it moves between; <see langword="null"/> while no plan runs.</summary>
    public RolloutPlan? Plan { get => Volatile.Read(ref _plan); internal set => Volatile.Write(ref _plan, value); }

    private RolloutPlan? _plan;

    /// <summary>The executor finished <paramref name="plan"/>: the context lets go of it unless another run has set its own since.</summary>
    internal void EndPlan(RolloutPlan plan) => Interlocked.CompareExchange(ref _plan, null, plan);

    /// <summary>The id of the actor who requested the running rollout (deploy, update, rollback or scale); <c>system</c> for automatic work.</summary>
    public string RequestedBy => _host.RequestedBy;

    /// <summary>Returns a retained revision of the deployment.</summary>
    /// <param name="number">The revision number.</param>
    /// <returns>The revision.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.NotFound"/>: the revision is not retained.</exception>
    public RevisionSpec GetRevision(int number) => _host.GetRevision(number);

    /// <summary>Returns the component of a revision.</summary>
    /// <param name="componentId">The component id.</param>
    /// <param name="revision">The revision number.</param>
    /// <returns>The component spec.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.NotFound"/>.</exception>
    public ComponentSpec GetComponent(string componentId, int revision)
        => ComponentOrder.Find(GetRevision(revision).Spec.Components, componentId)
           ?? throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"Revision {revision} of deployment '{DeploymentId}' has no component '{componentId}'.");

    /// <summary>Describes a component revision for the runtime.</summary>
    /// <param name="componentId">The component id.</param>
    /// <param name="revision">The revision number.</param>
    /// <returns>The workload revision, with its ownership labels.</returns>
    public WorkloadRevision GetWorkload(string componentId, int revision)
    {
        var spec = GetRevision(revision).Spec;
        return new WorkloadRevision
        {
            OwnerId = OwnerId,
            DeploymentId = DeploymentId,
            DeploymentName = spec.Name,
            AppId = spec.AppId,
            Environment = spec.Environment,
            Revision = revision,
            Component = GetComponent(componentId, revision),
            Labels = spec.Labels,
            Progress = _progress,
            EncCluster = spec.Type == DeploymentType.EncCluster ? spec.EncCluster : null,
        };
    }

    /// <summary>Calls <see cref="IWorkloadRuntime.EnsureReplicasAsync"/>, retrying transient failures.</summary>
    /// <param name="componentId">The component id.</param>
    /// <param name="revision">The revision number.</param>
    /// <param name="replicas">The instance count to converge to.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the runtime converged.</returns>
    /// <remarks>Confirms first (<see cref="EnsureOwnedAsync"/>) that this instance still owns the deployment.</remarks>
    public ValueTask EnsureReplicasAsync(string componentId, int revision, int replicas, CancellationToken cancellationToken = default)
    {
        var workload = (replicas == 0 ? _host.DescribeRetiring(OwnerId, componentId, revision) : null) ?? GetWorkload(componentId, revision);
        var owned = EnsureOwnedAsync(cancellationToken);
        if (!owned.IsCompletedSuccessfully)
        {
            return ConfirmedThenEnsureAsync(owned, workload, replicas, cancellationToken);
        }

        return _runtimePipeline.ExecuteAsync(
            static (state, ct) => state.Runtime.EnsureReplicasAsync(state.workload, state.replicas, ct),
            (Runtime, workload, replicas),
            cancellationToken);
    }

    /// <summary>
    /// Confirms that this orchestrator instance still owns the deployment (<see cref="Ownership.IDeploymentOwnership.ConfirmAsync"/>)
    /// before a handler acts on the runtime or the router. The executor calls it before every step and
    /// <see cref="EnsureReplicasAsync"/> before its runtime call; a handler that calls <see cref="Runtime"/> or
    /// <see cref="Router"/> directly to change something calls it first. When another instance holds the deployment's
    /// lease now, the run stops (an <see cref="OwnershipFencedEventName"/> event and audit entry record it) and this
    /// throws <see cref="OperationCanceledException"/>: the new owner continues from the stored cursor. With one
    /// instance it returns at once.
    /// </summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>A task that completes when the deployment is confirmed owned.</returns>
    /// <exception cref="OperationCanceledException">This instance no longer owns the deployment.</exception>
    public ValueTask EnsureOwnedAsync(CancellationToken cancellationToken = default) => _host.EnsureOwnedAsync(cancellationToken);

    /// <summary>The audit action (and event) recorded when <see cref="EnsureOwnedAsync"/> finds the deployment owned by another instance.</summary>
    public const string OwnershipFencedEventName = "ownership.fenced";

    private async ValueTask ConfirmedThenEnsureAsync(ValueTask owned, WorkloadRevision workload, int replicas, CancellationToken cancellationToken)
    {
        await owned.ConfigureAwait(false);
        await _runtimePipeline.ExecuteAsync(
            static (state, ct) => state.Runtime.EnsureReplicasAsync(state.workload, state.replicas, ct),
            (Runtime, workload, replicas),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Calls <see cref="IWorkloadRuntime.GetInstancesAsync"/>, retrying transient failures.</summary>
    /// <param name="componentId">The component id.</param>
    /// <param name="revision">The revision number, or <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The instances.</returns>
    public ValueTask<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(string componentId, int? revision, CancellationToken cancellationToken = default)
        => _runtimePipeline.ExecuteAsync(
            static (state, ct) => state.Runtime.GetInstancesAsync(state.DeploymentId, state.componentId, state.revision, ct),
            (Runtime, DeploymentId, componentId, revision),
            cancellationToken);

    /// <summary>Waits while a person has paused the rollout; returns at once when it is not paused.</summary>
    /// <param name="cancellationToken">Cancels the wait (the rollout was aborted).</param>
    /// <returns>A task that completes when the rollout may continue.</returns>
    public Task WaitWhilePausedAsync(CancellationToken cancellationToken = default) => _host.Control.WaitWhilePausedAsync(cancellationToken);

    /// <summary>Pauses the rollout for a person to decide (as Argo Rollouts does on an inconclusive analysis) and waits until it is resumed.</summary>
    /// <param name="reason">Why the rollout pauses; shown in events and status.</param>
    /// <param name="cancellationToken">Cancels the wait (the rollout was aborted).</param>
    /// <returns>A task that completes when a person resumes the rollout.</returns>
    public Task PauseForDecisionAsync(string reason, CancellationToken cancellationToken = default)
    {
        _host.Control.Pause(reason);
        return _host.Control.WaitWhilePausedAsync(cancellationToken);
    }

    /// <summary>Waits for a duration, or until a person promotes the rollout (indefinitely when <paramref name="duration"/> is <see langword="null"/>).</summary>
    /// <param name="duration">How long to wait, or <see langword="null"/> to wait for promotion.</param>
    /// <param name="cancellationToken">Cancels the wait (the rollout was aborted).</param>
    /// <returns>A task that completes when the pause ends.</returns>
    public async Task WaitForPromotionAsync(TimeSpan? duration, CancellationToken cancellationToken = default)
    {
        // Start the wait first (it registers synchronously), so whoever sees the Paused state can promote at once.
        var wait = _host.Control.WaitForPromotionAsync(duration, TimeProvider, cancellationToken);
        if (duration is null)
        {
            _host.SetWaiting(true, "waiting for promotion");
        }

        try
        {
            await wait.ConfigureAwait(false);
        }
        finally
        {
            if (duration is null)
            {
                _host.SetWaiting(false, "promoted");
            }
        }
    }

    /// <summary>Waits until an approval gate is decided (approved by <paramref name="requiredApprovals"/> distinct people, rejected, or timed out).</summary>
    /// <param name="gate">The gate's name.</param>
    /// <param name="requiredApprovals">How many distinct approvers are needed.</param>
    /// <param name="timeout">How long to wait, or <see langword="null"/> to wait indefinitely.</param>
    /// <param name="cancellationToken">Cancels the wait (the rollout was aborted).</param>
    /// <returns>The outcome.</returns>
    public Task<ApprovalResult> WaitForApprovalAsync(string gate, int requiredApprovals, TimeSpan? timeout, CancellationToken cancellationToken = default)
        => WaitForApprovalAsync(gate, new ApprovalWaitOptions { RequiredApprovals = requiredApprovals, Timeout = timeout }, cancellationToken);

    /// <summary>Waits until an approval gate is decided, with the options of <paramref name="options"/> (approver checks, approvals carried over). A timed-out result lists the approvals collected so far.</summary>
    /// <param name="gate">The gate's name.</param>
    /// <param name="options">How many approvers, the timeout and the approver check.</param>
    /// <param name="cancellationToken">Cancels the wait (the rollout was aborted).</param>
    /// <returns>The outcome.</returns>
    public async Task<ApprovalResult> WaitForApprovalAsync(string gate, ApprovalWaitOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);

        // Start the wait first (it registers the gate synchronously), so whoever sees the Paused state can decide at once.
        var wait = _host.Control.WaitForApprovalAsync(gate, options, TimeProvider, cancellationToken);
        _host.SetWaiting(true, $"waiting for approval of gate '{gate}'");
        try
        {
            return await wait.ConfigureAwait(false);
        }
        finally
        {
            _host.SetWaiting(false, $"gate '{gate}' decided");
        }
    }

    /// <summary>Reports progress inside a step (shown in events and status).</summary>
    /// <param name="message">A one-line message, for example "2 of 3 ready".</param>
    public void ReportProgress(string message) => _host.ReportProgress(message);

    /// <summary>Reports how many instances a readiness wait has seen ready; formatted only when read or watched.</summary>
    internal void ReportReadiness(AwaitReadyStep step, int ready) => _host.ReportReadiness(step, ready);

    /// <summary>Records the traffic weights now in effect for a component.</summary>
    /// <param name="componentId">The component.</param>
    /// <param name="weights">Revision → weight.</param>
    /// <param name="approximated">Whether the weights are approximated by replica ratio (no router).</param>
    public void RecordTraffic(string componentId, IReadOnlyDictionary<int, int> weights, bool approximated) => _host.RecordTraffic(componentId, weights, approximated);
}

/// <summary>The VM's side of a running rollout, as seen by the step context.</summary>
internal interface IRolloutHost
{
    string DeploymentId { get; }

    string RequestedBy { get; }

    RolloutControl Control { get; }

    RevisionSpec GetRevision(int number);

    void ReportProgress(string message);

    void ReportReadiness(AwaitReadyStep step, int ready);

    void RecordTraffic(string componentId, IReadOnlyDictionary<int, int> weights, bool approximated);

    void SetWaiting(bool waiting, string reason);

    /// <summary>Confirms this instance still owns the deployment; stops the run and throws <see cref="OperationCanceledException"/> when it does not.</summary>
    ValueTask EnsureOwnedAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Describes a workload being scaled to zero even when its revision is no longer retained or its component was
    /// dropped (a destroy or clean-up sweeping what the runtime reports); <see langword="null"/> when the host cannot,
    /// and the context describes it from the retained revision.
    /// </summary>
    WorkloadRevision? DescribeRetiring(string ownerId, string componentId, int revision) => null;

    /// <summary>Whether self-healing took an instance out of traffic because it is not ready.</summary>
    bool IsOutOfTraffic(string instanceId) => false;
}

/// <summary>Runtime progress (<see cref="WorkloadRevision.Progress"/>) as the deployment's progress events.</summary>
file sealed class HostProgress(IRolloutHost host) : IProgress<string>
{
    public void Report(string value) => host.ReportProgress(value);
}
