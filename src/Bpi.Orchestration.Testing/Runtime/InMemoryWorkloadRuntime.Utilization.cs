using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Testing;

/// <summary>Utilisation a test sets, reported for autoscaling (<see cref="IWorkloadUtilization"/>).</summary>
public sealed partial class InMemoryWorkloadRuntime : IWorkloadUtilization
{
    private readonly Dictionary<(string Deployment, string Component), (double? CpuCores, long? MemoryBytes)> _utilization = [];

    /// <summary>
    /// Sets what every running instance of a component (of any revision) uses from now on, as
    /// <see cref="GetUtilizationAsync"/> reports it; until set, instances report nothing (not measured yet).
    /// </summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="componentId">The component.</param>
    /// <param name="cpuCores">CPU per instance, in cores; <see langword="null"/> for not measured.</param>
    /// <param name="memoryBytes">Memory per instance, in bytes; <see langword="null"/> for not measured.</param>
    public void SetUtilization(string deploymentId, string componentId, double? cpuCores, long? memoryBytes = null)
    {
        ArgumentNullException.ThrowIfNull(deploymentId);
        ArgumentNullException.ThrowIfNull(componentId);
        lock (_gate)
        {
            _utilization[(deploymentId, componentId)] = (cpuCores, memoryBytes);
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<InstanceUtilization>> GetUtilizationAsync(string deploymentId, string componentId, int revision, CancellationToken cancellationToken = default)
    {
        await EnterCallAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            if (!_utilization.TryGetValue((deploymentId, componentId), out var use))
            {
                return [];
            }

            return [.. _instances.Values
                .Where(i => i.Matches(deploymentId, componentId, revision) && i.Current.State == InstanceState.Running)
                .Select(i => new InstanceUtilization(i.Current.InstanceId, use.CpuCores, use.MemoryBytes))];
        }
    }
}
