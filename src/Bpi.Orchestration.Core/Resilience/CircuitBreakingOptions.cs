namespace Bpi.Orchestration.Resilience;

/// <summary>
/// The circuit breaker in front of each target the orchestrator calls (the runtime, the traffic router, each metric
/// provider): when enough calls fail with a <see cref="FaultClass.Transient"/> or <see cref="FaultClass.Throttled"/>
/// fault, calls fail fast with <see cref="CircuitOpenException"/> for <see cref="BreakDuration"/>, then one trial call
/// decides whether the circuit closes. Set on <see cref="OrchestrationOptions.CircuitBreaking"/>.
/// </summary>
/// <remarks>
/// The defaults are conservative: a target must fail at least half of at least 20 calls within 30 seconds before its
/// circuit opens, so a blip the runtime retries never trips it.
/// </remarks>
public sealed class CircuitBreakingOptions
{
    /// <summary>Whether calls are guarded by circuit breakers at all.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>The share of failed calls within <see cref="SamplingDuration"/> that opens the circuit, in (0, 1].</summary>
    /// <value>The default value is 0.5.</value>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>How many calls must be made within <see cref="SamplingDuration"/> before the circuit may open (at least 2).</summary>
    /// <value>The default value is 20.</value>
    public int MinimumThroughput { get; set; } = 20;

    /// <summary>The window over which the failure ratio is measured (at least 0.5 s).</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open circuit fails calls fast before it lets one trial call through (at least 0.5 s).</summary>
    /// <value>The default value is 15 seconds.</value>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Lists every problem of <paramref name="options"/>, worded for <paramref name="prefix"/>.</summary>
    internal static void Validate(CircuitBreakingOptions? options, string prefix, List<string> errors)
    {
        if (options is null)
        {
            errors.Add($"{prefix}: is null; leave the default or set a {nameof(CircuitBreakingOptions)}.");
            return;
        }

        if (!(options.FailureRatio > 0 && options.FailureRatio <= 1))
        {
            errors.Add($"{prefix}.{nameof(FailureRatio)}: {options.FailureRatio} is not within (0, 1]; use a share such as 0.5.");
        }

        if (options.MinimumThroughput < 2)
        {
            errors.Add($"{prefix}.{nameof(MinimumThroughput)}: {options.MinimumThroughput} is less than 2; use 2 or more calls.");
        }

        if (options.SamplingDuration < MinimumDuration)
        {
            errors.Add($"{prefix}.{nameof(SamplingDuration)}: {options.SamplingDuration} is shorter than 0.5 s; use a longer window.");
        }

        if (options.BreakDuration < MinimumDuration || options.BreakDuration > TimeSpan.FromDays(1))
        {
            errors.Add($"{prefix}.{nameof(BreakDuration)}: {options.BreakDuration} is not within [0.5 s, 1 day]; use a duration in that range.");
        }
    }

    private static readonly TimeSpan MinimumDuration = TimeSpan.FromMilliseconds(500);
}
