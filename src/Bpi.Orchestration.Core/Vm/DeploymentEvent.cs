namespace Bpi.Orchestration;

/// <summary>Something that happened to a deployment, as streamed by <see cref="IOrchestrationVm.WatchAsync"/>.</summary>
/// <param name="Sequence">A number that increases by one with every event of the orchestrator.</param>
/// <param name="Timestamp">When it happened.</param>
/// <param name="DeploymentId">The deployment.</param>
/// <param name="Kind">What happened.</param>
/// <param name="State">The deployment's state after the event.</param>
/// <param name="Message">A one-line description.</param>
public sealed record DeploymentEvent(
    long Sequence,
    DateTimeOffset Timestamp,
    string DeploymentId,
    DeploymentEventKind Kind,
    DeploymentState State,
    string Message)
{
    /// <summary>For step events: the step's index in its plan.</summary>
    public int? StepIndex { get; init; }

    /// <summary>For step events: the number of steps in the plan.</summary>
    public int? TotalSteps { get; init; }

    /// <summary>For step events: the step's kind (<see cref="Rollout.RolloutStep.Kind"/>).</summary>
    public string? StepKind { get; init; }

    /// <summary>For state changes: the state before.</summary>
    public DeploymentState? PreviousState { get; init; }

    /// <summary>The revision the event is about (the rollout's target, else the serving revision), when the publisher knows it.</summary>
    public int? Revision { get; init; }

    /// <summary>For <see cref="DeploymentEventKind.CircuitBreakerChanged"/>: the breaker's status after the change.</summary>
    public Resilience.CircuitBreakerStatus? CircuitBreaker { get; init; }
}

/// <summary>What a <see cref="DeploymentEvent"/> reports.</summary>
public enum DeploymentEventKind
{
    /// <summary>The deployment's state changed.</summary>
    StateChanged = 0,

    /// <summary>A plan started running.</summary>
    PlanStarted,

    /// <summary>A step started.</summary>
    StepStarted,

    /// <summary>A step completed.</summary>
    StepCompleted,

    /// <summary>A step failed; the message says why.</summary>
    StepFailed,

    /// <summary>A plan completed.</summary>
    PlanCompleted,

    /// <summary>Progress inside a step (for example ready instances or traffic weights).</summary>
    Progress,

    /// <summary>A person acted on the rollout (pause, resume, promote, approve, reject, abort).</summary>
    Intervention,

    /// <summary>
    /// This orchestrator instance found, before acting on the runtime, that it no longer owns the deployment (another
    /// instance holds its lease): it stopped acting and leaves the deployment to the new owner.
    /// </summary>
    OwnershipFenced,

    /// <summary>
    /// The security gate refused a deployment or an update (nothing was reserved or changed). For a new deployment the
    /// event's <see cref="DeploymentEvent.DeploymentId"/> is the spec's name, since no deployment id exists yet.
    /// </summary>
    SecurityGateRefused = 9,

    /// <summary>Self-healing saw a component's instances fail repeatedly and backs off before replacing them again (as Kubernetes' CrashLoopBackOff); the message names the component.</summary>
    CrashLooping = 10,

    /// <summary>
    /// A verification of the audit trail failed (reported by the host that ran it, see
    /// <see cref="OrchestrationVmExtensions.ReportAuditVerificationFailed"/>). An orchestrator-wide event: its
    /// <see cref="DeploymentEvent.DeploymentId"/> is empty.
    /// </summary>
    AuditVerificationFailed = 11,

    /// <summary>
    /// The autoscaler changed a component's replica count (<see cref="AutoscalingSpec"/>); the message says from what to
    /// what and why, and <see cref="DeploymentStatus.Autoscaling"/> holds the decision.
    /// </summary>
    Autoscaled = 12,

    /// <summary>
    /// A circuit breaker in front of a target (<c>runtime:…</c>, <c>router:…</c>, <c>metrics:…</c>) opened, half-opened
    /// or closed; <see cref="DeploymentEvent.CircuitBreaker"/> holds its status. An orchestrator-wide event: its
    /// <see cref="DeploymentEvent.DeploymentId"/> is empty.
    /// </summary>
    CircuitBreakerChanged = 13,
}
