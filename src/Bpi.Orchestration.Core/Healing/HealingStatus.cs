namespace Bpi.Orchestration;

/// <summary>What self-healing makes of a running deployment (or of one component).</summary>
public enum HealingState
{
    /// <summary>Every instance runs as desired, or no repair is under way.</summary>
    Healthy = 0,

    /// <summary>A repair is under way or due: an instance ended, fails its liveness check, is missing or out of traffic.</summary>
    Healing,

    /// <summary>Instances keep failing: the next replacement waits for the crash-loop back-off (as Kubernetes' CrashLoopBackOff).</summary>
    CrashLoopBackOff,

    /// <summary>An ended instance is not replaced: its restart policy says never, or its restart limit is reached.</summary>
    Degraded,
}

/// <summary>Self-healing's view of one component of the serving revision.</summary>
/// <param name="ComponentId">The component.</param>
/// <param name="State">The component's healing state.</param>
/// <param name="Restarts">How many instances self-healing replaced.</param>
/// <param name="InstanceRestarts">For each current instance, how many replacements came before it in its slot.</param>
/// <param name="OutOfTraffic">Instances kept but taken out of traffic because they are not ready.</param>
/// <param name="LastExitCode">The exit code of the last instance that ended, when known.</param>
/// <param name="LastFailure">Why the last instance failed (exited, liveness failure, …).</param>
/// <param name="LastLogLines">The last lines the last failed instance wrote.</param>
/// <param name="NextRestartAt">When the next replacement is due (crash-loop back-off), or <see langword="null"/>.</param>
public sealed record ComponentHealing(
    string ComponentId,
    HealingState State,
    int Restarts,
    IReadOnlyDictionary<string, int> InstanceRestarts,
    IReadOnlyList<string> OutOfTraffic,
    int? LastExitCode,
    string? LastFailure,
    IReadOnlyList<string> LastLogLines,
    DateTimeOffset? NextRestartAt);
