using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.TestUtilities;

/// <summary>
/// A runtime that forwards the port calls to another and has none of the optional capabilities: like a custom runtime that
/// neither reports utilisation (<see cref="IWorkloadUtilization"/>) nor scales itself (<see cref="IWorkloadSelfScaling"/>).
/// A test runtime that intercepts scaling derives from it and overrides <see cref="EnsureReplicasAsync"/>. Register it
/// over the in-memory runtime:
/// <c>services.Replace(ServiceDescriptor.Singleton&lt;IWorkloadRuntime&gt;(sp =&gt; new ForwardingWorkloadRuntime(sp.GetRequiredService&lt;InMemoryWorkloadRuntime&gt;())))</c>.
/// </summary>
public class ForwardingWorkloadRuntime(IWorkloadRuntime inner) : IWorkloadRuntime
{
    /// <summary>The runtime the calls go to.</summary>
    public IWorkloadRuntime Inner => inner;

    /// <inheritdoc/>
    public string Name => inner.Name;

    /// <inheritdoc/>
    public virtual ValueTask EnsureReplicasAsync(WorkloadRevision revision, int replicas, CancellationToken cancellationToken = default)
        => inner.EnsureReplicasAsync(revision, replicas, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(string deploymentId, string? componentId = null, int? revision = null, CancellationToken cancellationToken = default)
        => inner.GetInstancesAsync(deploymentId, componentId, revision, cancellationToken);

    /// <inheritdoc/>
    public ValueTask RemoveDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default)
        => inner.RemoveDeploymentAsync(deploymentId, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<WorkloadInstance>> ListOwnedAsync(CancellationToken cancellationToken = default)
        => inner.ListOwnedAsync(cancellationToken);

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<string>> GetLogTailAsync(string instanceId, int lines, CancellationToken cancellationToken = default)
        => inner.GetLogTailAsync(instanceId, lines, cancellationToken);
}

/// <summary>
/// A forwarding runtime that declares it scales workloads itself (as the Kubernetes runtime does with an HPA) and also
/// passes the inner runtime's utilisation through, counting the reads: so a test sees the orchestrator leave scaling to
/// the runtime even where it could measure.
/// </summary>
public sealed class SelfScalingWorkloadRuntime(IWorkloadRuntime inner) : ForwardingWorkloadRuntime(inner), IWorkloadSelfScaling, IWorkloadUtilization
{
    private int _utilizationReads;

    /// <inheritdoc/>
    public bool ScalesItself => true;

    /// <summary>How often the utilisation was read.</summary>
    public int UtilizationReads => Volatile.Read(ref _utilizationReads);

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<InstanceUtilization>> GetUtilizationAsync(string deploymentId, string componentId, int revision, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _utilizationReads);
        return ((IWorkloadUtilization)Inner).GetUtilizationAsync(deploymentId, componentId, revision, cancellationToken);
    }
}
