namespace Bpi.Orchestration.Resilience;

/// <summary>
/// A call was not made because the circuit breaker of its target is open: the target failed too often recently. The
/// kind is <see cref="OrchestrationErrorKind.RuntimeUnavailable"/>; it is not <see cref="OrchestrationException.IsTransient"/>,
/// so retry pipelines do not retry into the open circuit. Wait for <see cref="RetryAfter"/>, or fix the target.
/// </summary>
public sealed class CircuitOpenException : OrchestrationException
{
    internal CircuitOpenException(string target, TimeSpan? retryAfter, string? lastFailure, Exception? innerException)
        : base(OrchestrationErrorKind.RuntimeUnavailable, Describe(target, retryAfter, lastFailure), innerException)
    {
        Target = target;
        RetryAfter = retryAfter;
    }

    /// <summary>The guarded target, for example <c>runtime:docker</c>, <c>router:nginx</c> or <c>metrics:PrometheusMetricProvider</c>.</summary>
    public string Target { get; }

    /// <summary>How long until the circuit lets a trial call through, when known.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Always <see langword="false"/>: retrying at once only meets the open circuit again.</summary>
    public override bool IsTransient => false;

    /// <summary>Always <see cref="Resilience.FaultClass.Transient"/>: the target is unavailable for now.</summary>
    public override FaultClass FaultClass => FaultClass.Transient;

    private static string Describe(string target, TimeSpan? retryAfter, string? lastFailure)
    {
        var after = retryAfter is { } r ? $"; the next trial call is allowed in {Math.Max(0, r.TotalSeconds):0.#} s" : "";
        var last = lastFailure is null ? "" : $" (last failure: {lastFailure})";
        return $"The circuit breaker of {target} is open: it failed too often recently{last}, so calls fail fast{after}. Check that {target} is running and reachable.";
    }
}
