using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Health;

/// <summary>
/// Runs one health check against one instance. Register one per <see cref="HealthCheckKind"/>; the executor applies
/// the thresholds (initial delay, period, failure and success thresholds) with Kubernetes semantics. When no probe is
/// registered for a check's kind, an instance is ready when the runtime reports it running and not unhealthy.
/// </summary>
public interface IHealthProbe
{
    /// <summary>Whether this probe handles checks of the given kind.</summary>
    /// <param name="kind">The kind of check.</param>
    /// <returns><see langword="true"/> when it does.</returns>
    bool CanProbe(HealthCheckKind kind);

    /// <summary>Runs the check once, within <see cref="HealthCheckSpec.Timeout"/>.</summary>
    /// <param name="instance">The instance to check.</param>
    /// <param name="check">The check.</param>
    /// <param name="cancellationToken">Cancels the probe.</param>
    /// <returns>The result; a probe never throws for an unhealthy instance, it returns a failed result.</returns>
    ValueTask<ProbeResult> ProbeAsync(WorkloadInstance instance, HealthCheckSpec check, CancellationToken cancellationToken = default);
}

/// <summary>The result of one probe.</summary>
/// <param name="Healthy">Whether the check passed.</param>
/// <param name="Message">Why it failed, or a short detail.</param>
public readonly record struct ProbeResult(bool Healthy, string? Message = null)
{
    /// <summary>A passing result.</summary>
    public static ProbeResult Pass { get; } = new(true);

    /// <summary>A failing result with a reason.</summary>
    /// <param name="message">Why it failed.</param>
    /// <returns>The result.</returns>
    public static ProbeResult Fail(string message) => new(false, message);
}
