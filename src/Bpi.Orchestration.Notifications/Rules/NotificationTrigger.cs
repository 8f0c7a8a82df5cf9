namespace Bpi.Orchestration.Notifications;

/// <summary>What a <see cref="NotificationRule"/> reacts to. Each is recognised from the orchestrator's <see cref="DeploymentEvent"/>s.</summary>
public enum NotificationTrigger
{
    /// <summary>A rollout started: the deployment entered <see cref="DeploymentState.Deploying"/> (not when a paused rollout resumes). Name: <c>rollout.started</c>.</summary>
    RolloutStarted = 0,

    /// <summary>A rollout completed and its revision serves: the deployment went from a rollout to <see cref="DeploymentState.Running"/>. Name: <c>rollout.promoted</c>.</summary>
    RolloutPromoted = 1,

    /// <summary>A rollout failed or was aborted: the deployment entered <see cref="DeploymentState.RollingBack"/> or <see cref="DeploymentState.Failed"/>. Name: <c>rollout.failed</c>.</summary>
    RolloutFailed = 2,

    /// <summary>A failed or aborted rollout was rolled back: the previous revision serves (<see cref="DeploymentState.RolledBack"/>). Name: <c>rollout.rolled-back</c>.</summary>
    RolloutRolledBack = 3,

    /// <summary>A rollout waits at an approval gate (its <c>await-approval</c> step started). Name: <c>approval.waiting</c>.</summary>
    ApprovalWaiting = 4,

    /// <summary>The security gate refused a deployment or an update (<see cref="DeploymentEventKind.SecurityGateRefused"/>). Name: <c>security.gate-refused</c>.</summary>
    SecurityGateRefused = 5,

    /// <summary>Self-healing backs off a component whose instances keep failing (<see cref="DeploymentEventKind.CrashLooping"/>). Name: <c>instance.crash-looping</c>.</summary>
    CrashLooping = 6,

    /// <summary>A verification of the audit trail failed (<see cref="DeploymentEventKind.AuditVerificationFailed"/>). Name: <c>audit.verification-failed</c>.</summary>
    AuditVerificationFailed = 7,

    /// <summary>
    /// A circuit breaker opened (calls to its target fail fast) or closed again (<see cref="DeploymentEventKind.CircuitBreakerChanged"/>;
    /// half-open trials are not notified). An opening is an alarm, a closing good news; de-duplicated per target and
    /// state. Name: <c>circuit-breaker.changed</c>.
    /// </summary>
    CircuitBreakerChanged = 8,
}

/// <summary>Recognises triggers in the orchestrator's events, and names them.</summary>
internal static class NotificationTriggers
{
    private const string ApprovalStepKind = "await-approval";

    /// <summary>The trigger an event is, or <see langword="null"/> for an event no rule can react to.</summary>
    public static NotificationTrigger? Of(DeploymentEvent e) => e.Kind switch
    {
        DeploymentEventKind.StateChanged => e.State switch
        {
            // A paused rollout that resumes goes back to Deploying: that is not a new rollout.
            DeploymentState.Deploying when e.PreviousState is not (DeploymentState.Deploying or DeploymentState.Paused) => NotificationTrigger.RolloutStarted,
            DeploymentState.Running when e.PreviousState is DeploymentState.Deploying or DeploymentState.Paused => NotificationTrigger.RolloutPromoted,
            DeploymentState.RollingBack when e.PreviousState is not DeploymentState.RollingBack => NotificationTrigger.RolloutFailed,
            DeploymentState.Failed when e.PreviousState is not (DeploymentState.Failed or DeploymentState.RollingBack) => NotificationTrigger.RolloutFailed,
            DeploymentState.RolledBack when e.PreviousState is not DeploymentState.RolledBack => NotificationTrigger.RolloutRolledBack,
            _ => null,
        },
        DeploymentEventKind.StepStarted when string.Equals(e.StepKind, ApprovalStepKind, StringComparison.Ordinal) => NotificationTrigger.ApprovalWaiting,
        DeploymentEventKind.SecurityGateRefused => NotificationTrigger.SecurityGateRefused,
        DeploymentEventKind.CrashLooping => NotificationTrigger.CrashLooping,
        DeploymentEventKind.AuditVerificationFailed => NotificationTrigger.AuditVerificationFailed,
        DeploymentEventKind.CircuitBreakerChanged when e.CircuitBreaker?.State is Resilience.CircuitBreakerState.Open or Resilience.CircuitBreakerState.Closed => NotificationTrigger.CircuitBreakerChanged,
        _ => null,
    };

    /// <summary>The trigger's name in notifications (<c>rollout.started</c>, …).</summary>
    public static string Name(NotificationTrigger trigger) => trigger switch
    {
        NotificationTrigger.RolloutStarted => "rollout.started",
        NotificationTrigger.RolloutPromoted => "rollout.promoted",
        NotificationTrigger.RolloutFailed => "rollout.failed",
        NotificationTrigger.RolloutRolledBack => "rollout.rolled-back",
        NotificationTrigger.ApprovalWaiting => "approval.waiting",
        NotificationTrigger.SecurityGateRefused => "security.gate-refused",
        NotificationTrigger.CrashLooping => "instance.crash-looping",
        NotificationTrigger.AuditVerificationFailed => "audit.verification-failed",
        NotificationTrigger.CircuitBreakerChanged => "circuit-breaker.changed",
        _ => throw new ArgumentOutOfRangeException(nameof(trigger), trigger, "Unknown notification trigger."),
    };

    /// <summary>A short English title for chat messages.</summary>
    public static string Title(NotificationTrigger trigger) => trigger switch
    {
        NotificationTrigger.RolloutStarted => "Rollout started",
        NotificationTrigger.RolloutPromoted => "Rollout promoted",
        NotificationTrigger.RolloutFailed => "Rollout failed",
        NotificationTrigger.RolloutRolledBack => "Rollout rolled back",
        NotificationTrigger.ApprovalWaiting => "Approval waiting",
        NotificationTrigger.SecurityGateRefused => "Security gate refused",
        NotificationTrigger.CrashLooping => "Instance crash-looping",
        NotificationTrigger.AuditVerificationFailed => "Audit verification failed",
        NotificationTrigger.CircuitBreakerChanged => "Circuit breaker changed",
        _ => throw new ArgumentOutOfRangeException(nameof(trigger), trigger, "Unknown notification trigger."),
    };

    /// <summary>Whether the notification is bad news (chat messages colour it): a breaker that closed is not.</summary>
    public static bool IsAlarm(Notification n)
        => n.Trigger == NotificationTrigger.CircuitBreakerChanged
            ? n.Event.CircuitBreaker?.State != Resilience.CircuitBreakerState.Closed
            : n.Trigger is not (NotificationTrigger.RolloutStarted or NotificationTrigger.RolloutPromoted or NotificationTrigger.ApprovalWaiting);

    /// <summary>
    /// What a notification is about, for de-duplication: the deployment, or for a breaker change its target and the state
    /// entered (an opening and the closing after it are two notifications; the same target opening again within the
    /// window is one).
    /// </summary>
    public static string Subject(DeploymentEvent e)
        => e.CircuitBreaker is { } breaker ? breaker.Target + "#" + breaker.State : e.DeploymentId;
}
