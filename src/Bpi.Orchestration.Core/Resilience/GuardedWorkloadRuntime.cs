using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Resilience;

/// <summary>
/// The runtime behind its circuit breaker (<c>runtime:&lt;name&gt;</c>): every port call the orchestrator makes goes
/// through it. It is an <see cref="IWorkloadInstanceRemover"/> exactly when the runtime is (a guarded one); the events of
/// <see cref="IWorkloadEvents"/> and <see cref="IWorkloadSelfScaling"/> are found with <see cref="RuntimeCapabilities"/>,
/// which looks through the guard.
/// </summary>
internal class GuardedWorkloadRuntime : IWorkloadRuntime
{
    private readonly CircuitBreakers _breakers;
    private readonly string _target;
    private CircuitBreakers.Circuit? _circuit;

    private protected GuardedWorkloadRuntime(IWorkloadRuntime inner, CircuitBreakers breakers)
    {
        Inner = inner;
        _breakers = breakers;
        _target = "runtime:" + inner.Name;
    }

    public IWorkloadRuntime Inner { get; }

    /// <summary>The target's circuit, looked up once (on the first call) rather than by name on every call.</summary>
    private CircuitBreakers.Circuit Circuit => _circuit ??= _breakers.For(_target);

    public string Name => Inner.Name;

    /// <summary>The runtime guarded by <paramref name="breakers"/>, or the runtime itself when circuit breaking is off.</summary>
    public static IWorkloadRuntime? Guard(IWorkloadRuntime? runtime, CircuitBreakers breakers)
        => runtime is null or GuardedWorkloadRuntime || !breakers.Enabled ? runtime
            : runtime is IWorkloadInstanceRemover ? new GuardedRemovingWorkloadRuntime(runtime, breakers)
            : new GuardedWorkloadRuntime(runtime, breakers);

    public ValueTask EnsureReplicasAsync(WorkloadRevision revision, int replicas, CancellationToken cancellationToken = default)
        => Circuit.ExecuteAsync(static (s, ct) => s.Inner.EnsureReplicasAsync(s.revision, s.replicas, ct), (Inner, revision, replicas), cancellationToken);

    public ValueTask<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(string deploymentId, string? componentId = null, int? revision = null, CancellationToken cancellationToken = default)
        => Circuit.ExecuteAsync(static (s, ct) => s.Inner.GetInstancesAsync(s.deploymentId, s.componentId, s.revision, ct), (Inner, deploymentId, componentId, revision), cancellationToken);

    public ValueTask RemoveDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default)
        => Circuit.ExecuteAsync(static (s, ct) => s.Inner.RemoveDeploymentAsync(s.deploymentId, ct), (Inner, deploymentId), cancellationToken);

    public ValueTask<IReadOnlyList<WorkloadInstance>> ListOwnedAsync(CancellationToken cancellationToken = default)
        => Circuit.ExecuteAsync(static (inner, ct) => inner.ListOwnedAsync(ct), Inner, cancellationToken);

    public ValueTask<IReadOnlyList<string>> GetLogTailAsync(string instanceId, int lines, CancellationToken cancellationToken = default)
        => Circuit.ExecuteAsync(static (s, ct) => s.Inner.GetLogTailAsync(s.instanceId, s.lines, ct), (Inner, instanceId, lines), cancellationToken);

    /// <summary>The runtime's utilisation reads through the same breaker, or <see langword="null"/> when it reports none.</summary>
    public IWorkloadUtilization? Utilization => _utilization ??= Inner is IWorkloadUtilization ? new GuardedUtilization(this) : null;

    private IWorkloadUtilization? _utilization;

    internal ValueTask<IReadOnlyList<InstanceUtilization>> GuardUtilizationAsync(string deploymentId, string componentId, int revision, CancellationToken cancellationToken)
        => Circuit.ExecuteAsync(static (s, ct) => ((IWorkloadUtilization)s.Inner).GetUtilizationAsync(s.deploymentId, s.componentId, s.revision, ct), (Inner, deploymentId, componentId, revision), cancellationToken);

    private protected ValueTask GuardAsync<TState>(Func<TState, CancellationToken, ValueTask> call, TState state, CancellationToken cancellationToken)
        => Circuit.ExecuteAsync(call, state, cancellationToken);
}

/// <summary>A runtime's <see cref="IWorkloadUtilization"/> behind the runtime's own breaker: a stats read is an engine call too.</summary>
internal sealed class GuardedUtilization(GuardedWorkloadRuntime guarded) : IWorkloadUtilization
{
    public ValueTask<IReadOnlyList<InstanceUtilization>> GetUtilizationAsync(string deploymentId, string componentId, int revision, CancellationToken cancellationToken = default)
        => guarded.GuardUtilizationAsync(deploymentId, componentId, revision, cancellationToken);
}

/// <summary>A guarded runtime that removes single instances (<see cref="IWorkloadInstanceRemover"/>), through the same breaker.</summary>
internal sealed class GuardedRemovingWorkloadRuntime(IWorkloadRuntime inner, CircuitBreakers breakers) : GuardedWorkloadRuntime(inner, breakers), IWorkloadInstanceRemover
{
    public ValueTask RemoveInstanceAsync(string deploymentId, string instanceId, CancellationToken cancellationToken = default)
        => GuardAsync(static (s, ct) => ((IWorkloadInstanceRemover)s.Inner).RemoveInstanceAsync(s.deploymentId, s.instanceId, ct), (Inner, deploymentId, instanceId), cancellationToken);
}

/// <summary>The optional capabilities of a runtime, looked up through its circuit-breaker guard.</summary>
internal static class RuntimeCapabilities
{
    /// <summary>The runtime's utilisation reads (through its breaker when guarded), or <see langword="null"/> when it reports none.</summary>
    public static IWorkloadUtilization? Utilization(IWorkloadRuntime? runtime)
        => runtime is GuardedWorkloadRuntime guarded ? guarded.Utilization : runtime as IWorkloadUtilization;

    /// <summary>The runtime's event stream, or <see langword="null"/> when it has none (events are not calls: they are not guarded).</summary>
    public static IWorkloadEvents? Events(IWorkloadRuntime runtime)
        => Unguarded(runtime) as IWorkloadEvents;

    /// <summary>Whether the runtime scales autoscaled components itself (<see cref="IWorkloadSelfScaling"/>; a declaration, not a call: not guarded).</summary>
    public static bool SelfScaling(IWorkloadRuntime? runtime)
        => Unguarded(runtime) is IWorkloadSelfScaling { ScalesItself: true };

    private static IWorkloadRuntime? Unguarded(IWorkloadRuntime? runtime)
        => runtime is GuardedWorkloadRuntime guarded ? guarded.Inner : runtime;
}
