using Bpi.Orchestration.Health;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Testing;

/// <summary>
/// Answers every kind of health check for instances of the <see cref="InMemoryWorkloadRuntime"/>: healthy while the
/// instance runs, unless <see cref="InMemoryFaults.FailHealthCheck"/> made the check's path fail. Register it with
/// <c>.AddHealthProbe&lt;InMemoryHealthProbe&gt;()</c> to test liveness and readiness without a network.
/// </summary>
/// <param name="runtime">The runtime whose faults decide.</param>
public sealed class InMemoryHealthProbe(InMemoryWorkloadRuntime runtime) : IHealthProbe
{
    /// <inheritdoc />
    public bool CanProbe(HealthCheckKind kind) => true;

    /// <inheritdoc />
    public ValueTask<ProbeResult> ProbeAsync(WorkloadInstance instance, HealthCheckSpec check, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(runtime);
        return ValueTask.FromResult(
            instance.State != InstanceState.Running ? ProbeResult.Fail("not running")
            : runtime.Faults.IsCheckFailing(instance.InstanceId, check.Path) ? ProbeResult.Fail("simulated health check failure")
            : ProbeResult.Pass);
    }
}
