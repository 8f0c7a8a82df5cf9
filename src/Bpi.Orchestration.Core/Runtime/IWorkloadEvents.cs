namespace Bpi.Orchestration.Runtime;

/// <summary>
/// An optional capability of an <see cref="IWorkloadRuntime"/>: it tells when an instance changed by itself (exited,
/// turned unhealthy, was removed behind the orchestrator's back), so the orchestrator's self-healing wakes on the event
/// instead of polling. Runtimes without it are still healed, by the periodic resync
/// (<see cref="OrchestrationOptions.HealingResyncInterval"/>).
/// </summary>
public interface IWorkloadEvents
{
    /// <summary>
    /// Calls <paramref name="onEvent"/> for every change of an instance the runtime owns, from any thread, until the
    /// returned subscription is disposed. The callback must return quickly and never throws into the runtime.
    /// </summary>
    /// <param name="onEvent">The callback.</param>
    /// <returns>The subscription; dispose it to stop.</returns>
    IDisposable Subscribe(Action<WorkloadEvent> onEvent);
}

/// <summary>A change of one instance, as a runtime observed it.</summary>
/// <param name="DeploymentId">The deployment of the instance.</param>
/// <param name="InstanceId">The instance (<see cref="WorkloadInstance.InstanceId"/>).</param>
/// <param name="Kind">What happened.</param>
/// <param name="ExitCode">The exit code, when the instance exited and the runtime knows it.</param>
public sealed record WorkloadEvent(string DeploymentId, string InstanceId, WorkloadEventKind Kind, int? ExitCode = null);

/// <summary>What happened to an instance.</summary>
public enum WorkloadEventKind
{
    /// <summary>It exited or failed.</summary>
    Exited = 0,

    /// <summary>Its health as the runtime observes it changed.</summary>
    HealthChanged,

    /// <summary>It was removed (not by the orchestrator).</summary>
    Removed,

    /// <summary>The runtime lost and regained its engine; everything should be compared again.</summary>
    Reconnected,
}
