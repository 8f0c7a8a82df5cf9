namespace Bpi.Orchestration.Runtime;

/// <summary>
/// An optional capability of an <see cref="IWorkloadRuntime"/>: how much CPU and memory each instance of a component
/// revision uses now, for autoscaling (<see cref="AutoscalingSpec"/>). The local-process runtime reads
/// <c>/proc/&lt;pid&gt;/stat</c>, Docker its stats endpoint, the in-memory runtime what a test set.
/// </summary>
public interface IWorkloadUtilization
{
    /// <summary>Measures the running instances of one component revision.</summary>
    /// <param name="deploymentId">The deployment.</param>
    /// <param name="componentId">The component.</param>
    /// <param name="revision">The revision.</param>
    /// <param name="cancellationToken">Cancels the measurement.</param>
    /// <returns>One measurement per running instance; an instance the runtime cannot measure yet is left out.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.RuntimeUnavailable"/>: the engine could not be reached.</exception>
    ValueTask<IReadOnlyList<InstanceUtilization>> GetUtilizationAsync(string deploymentId, string componentId, int revision, CancellationToken cancellationToken = default);
}

/// <summary>What one instance uses.</summary>
/// <param name="InstanceId">The instance (<see cref="WorkloadInstance.InstanceId"/>).</param>
/// <param name="CpuCores">CPU in use, in cores (averaged since the previous measurement); <see langword="null"/> when not measured yet.</param>
/// <param name="MemoryBytes">Memory in use (resident set), in bytes; <see langword="null"/> when not measured.</param>
public sealed record InstanceUtilization(string InstanceId, double? CpuCores, long? MemoryBytes);
