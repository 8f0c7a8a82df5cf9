namespace Bpi.Orchestration;

/// <summary>
/// Horizontal autoscaling of a component between rollouts, by the Kubernetes HorizontalPodAutoscaler's algorithm: the
/// orchestrator keeps between <see cref="MinReplicas"/> and <see cref="MaxReplicas"/> instances of the serving revision,
/// proposing <c>ceil(current × utilisation / target)</c> for each target (CPU and/or memory, in percent of what each
/// instance requests in <see cref="ComponentSpec.Resources"/>), ignoring a change within <see cref="Tolerance"/>, taking
/// the largest proposal, smoothing it over the stabilisation windows and limiting its rate by the policies of
/// <see cref="ScaleUp"/> and <see cref="ScaleDown"/>. Changes are applied as audited scale plans; the autoscaler waits
/// while a rollout runs and carries its replica count to the new revision once that revision serves.
/// <see cref="ComponentSpec.Replicas"/> stays the count a rollout starts the new revision with. A runtime that scales
/// workloads itself (<see cref="Runtime.IWorkloadSelfScaling"/>; on Kubernetes an <c>autoscaling/v2</c>
/// HorizontalPodAutoscaler on the serving revision's Deployment) is left to do it. Otherwise the orchestrator scales, and
/// CPU and memory targets need the runtime to report utilisation (<see cref="Runtime.IWorkloadUtilization"/>): on a
/// runtime that does neither, admission refuses them, and only <see cref="Metrics"/> can drive scaling.
/// </summary>
public sealed record AutoscalingSpec
{
    /// <summary>The CPU target used when neither <see cref="TargetCpuUtilizationPercent"/> nor <see cref="TargetMemoryUtilizationPercent"/> is set (as in Kubernetes).</summary>
    public const int DefaultCpuUtilizationPercent = 80;

    /// <summary>The fewest instances to keep.</summary>
    /// <value>The default value is 1.</value>
    public int MinReplicas { get; init; } = 1;

    /// <summary>The most instances to run; at least <see cref="MinReplicas"/>.</summary>
    public required int MaxReplicas { get; init; }

    /// <summary>
    /// The average CPU use to keep, in percent of the CPU each instance requests (<see cref="ComponentResources.CpuCores"/>,
    /// 1 to 1000); <see langword="null"/> for no CPU target. Without any target, <see cref="DefaultCpuUtilizationPercent"/> applies.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public int? TargetCpuUtilizationPercent { get; init; }

    /// <summary>
    /// The average memory use to keep, in percent of the memory each instance requests (<see cref="ComponentResources.MemoryMb"/>,
    /// 1 to 1000); <see langword="null"/> for no memory target.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public int? TargetMemoryUtilizationPercent { get; init; }

    /// <summary>
    /// How far utilisation may stray from its target (as a fraction of it, 0 to 1) before the replica count changes: with
    /// 0.1, a ratio of utilisation to target between 0.9 and 1.1 keeps the count.
    /// </summary>
    /// <value>The default value is 0.1 (Kubernetes' default).</value>
    public double Tolerance { get; init; } = 0.1;

    /// <summary>How fast instances are added.</summary>
    /// <value>The default value is <see cref="AutoscalingRules.DefaultScaleUp"/>: no stabilisation, at most double or add 4 instances (whichever is more) per 15 seconds.</value>
    public AutoscalingRules ScaleUp { get; init; } = AutoscalingRules.DefaultScaleUp;

    /// <summary>How fast instances are removed.</summary>
    /// <value>The default value is <see cref="AutoscalingRules.DefaultScaleDown"/>: a 300-second stabilisation window, then down to the needed count at once.</value>
    public AutoscalingRules ScaleDown { get; init; } = AutoscalingRules.DefaultScaleDown;

    /// <summary>
    /// Custom metrics (the HPA's <c>Pods</c>/<c>Object</c>/<c>External</c> metrics): each is measured by a registered
    /// <see cref="Autoscaling.IAutoscalingMetricSource"/> (with the Strategies package, any <c>IMetricProvider</c>, such as a
    /// Prometheus query) and proposes a count like a utilisation target; the largest proposal of all metrics wins.
    /// </summary>
    /// <value>The default value is empty.</value>
    public IReadOnlyList<AutoscalingMetric> Metrics { get; init; } = [];

    /// <summary>The CPU target in effect: <see cref="TargetCpuUtilizationPercent"/>, or <see cref="DefaultCpuUtilizationPercent"/> when no target of any kind (and no custom metric) is set.</summary>
    public int? EffectiveCpuUtilizationPercent
        => TargetCpuUtilizationPercent ?? (TargetMemoryUtilizationPercent is null && (Metrics is null || Metrics.Count == 0) ? DefaultCpuUtilizationPercent : null);

    /// <summary>Whether both specs are the same, comparing <see cref="Metrics"/> item by item.</summary>
    /// <param name="other">The other spec.</param>
    /// <returns><see langword="true"/> when they are equal.</returns>
    public bool Equals(AutoscalingSpec? other)
        => other is not null
           && MinReplicas == other.MinReplicas
           && MaxReplicas == other.MaxReplicas
           && TargetCpuUtilizationPercent == other.TargetCpuUtilizationPercent
           && TargetMemoryUtilizationPercent == other.TargetMemoryUtilizationPercent
           && Tolerance.Equals(other.Tolerance)
           && Equals(ScaleUp, other.ScaleUp)
           && Equals(ScaleDown, other.ScaleDown)
           && (ReferenceEquals(Metrics, other.Metrics) || (Metrics is not null && other.Metrics is not null && Metrics.SequenceEqual(other.Metrics)));

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(MinReplicas, MaxReplicas, TargetCpuUtilizationPercent, TargetMemoryUtilizationPercent, Tolerance, ScaleUp, ScaleDown, Metrics?.Count ?? -1);
}

/// <summary>
/// A custom autoscaling metric: a query measured each pass, and a target. With <see cref="TargetAverageValue"/> the
/// query's value is the total over the instances (a request rate summed over them, a queue length) and each instance
/// should carry the target: the metric proposes <c>ceil(value / target)</c> (the HPA's <c>AverageValue</c> target).
/// With <see cref="TargetValue"/> the value is compared as it is (a latency, a ratio): the metric proposes
/// <c>ceil(current × value / target)</c> (the HPA's <c>Value</c> target). Set exactly one of the two.
/// </summary>
public sealed record AutoscalingMetric
{
    /// <summary>The metric's name in decisions, events and the Kubernetes HPA (letters, digits, <c>-</c>, <c>_</c>, <c>.</c>; not <c>cpu</c> or <c>memory</c>).</summary>
    public required string Name { get; init; }

    /// <summary>
    /// What to measure: a query a registered <see cref="Autoscaling.IAutoscalingMetricSource"/> can measure. With the
    /// Strategies package, a <c>MetricQuery</c> such as a <c>PrometheusMetricQuery</c>. Stored with the deployment when
    /// its type is registered in <see cref="AutoscalingQueryTypes"/> (the Strategies package registers its queries).
    /// </summary>
    [System.Text.Json.Serialization.JsonConverter(typeof(Autoscaling.AutoscalingQueryJsonConverter))]
    public required object Query { get; init; }

    /// <summary>The value each instance should carry (the query measures the total); <see langword="null"/> when <see cref="TargetValue"/> is set.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public double? TargetAverageValue { get; init; }

    /// <summary>The value the query should measure as it is; <see langword="null"/> when <see cref="TargetAverageValue"/> is set.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public double? TargetValue { get; init; }
}

/// <summary>
/// The rules of one scaling direction (the <c>behavior.scaleUp</c> / <c>behavior.scaleDown</c> of a Kubernetes HPA): a
/// stabilisation window and rate policies.
/// </summary>
public sealed record AutoscalingRules
{
    /// <summary>Kubernetes' scale-up default: no stabilisation; per 15 seconds at most +100 % or +4 instances, whichever is more.</summary>
    public static AutoscalingRules DefaultScaleUp { get; } = new()
    {
        StabilizationWindow = TimeSpan.Zero,
        Policies =
        [
            new AutoscalingPolicy(AutoscalingPolicyType.Percent, 100, TimeSpan.FromSeconds(15)),
            new AutoscalingPolicy(AutoscalingPolicyType.Pods, 4, TimeSpan.FromSeconds(15)),
        ],
    };

    /// <summary>Kubernetes' scale-down default: a 300-second stabilisation window; per 15 seconds at most −100 %.</summary>
    public static AutoscalingRules DefaultScaleDown { get; } = new()
    {
        StabilizationWindow = TimeSpan.FromSeconds(300),
        Policies = [new AutoscalingPolicy(AutoscalingPolicyType.Percent, 100, TimeSpan.FromSeconds(15))],
    };

    /// <summary>
    /// How far back recommendations are remembered (0 to 1 hour): scaling up uses the lowest recommendation of the window,
    /// scaling down the highest, so a short spike or dip does not make the count flap.
    /// </summary>
    /// <value>The default value is zero.</value>
    public TimeSpan StabilizationWindow { get; init; }

    /// <summary>Which policy wins when several allow different changes.</summary>
    /// <value>The default value is <see cref="AutoscalingSelectPolicy.Max"/> (the largest change).</value>
    public AutoscalingSelectPolicy SelectPolicy { get; init; } = AutoscalingSelectPolicy.Max;

    /// <summary>The rate limits; empty means no limit (beyond <see cref="AutoscalingSpec.MinReplicas"/> and <see cref="AutoscalingSpec.MaxReplicas"/>).</summary>
    public IReadOnlyList<AutoscalingPolicy> Policies { get; init; } = [];

    /// <summary>Whether both rules are the same, comparing <see cref="Policies"/> item by item.</summary>
    /// <param name="other">The other rules.</param>
    /// <returns><see langword="true"/> when they are equal.</returns>
    public bool Equals(AutoscalingRules? other)
        => other is not null
           && StabilizationWindow == other.StabilizationWindow
           && SelectPolicy == other.SelectPolicy
           && (ReferenceEquals(Policies, other.Policies) || (Policies is not null && other.Policies is not null && Policies.SequenceEqual(other.Policies)));

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(StabilizationWindow, SelectPolicy, Policies?.Count ?? -1);
}

/// <summary>A rate limit: at most <paramref name="Value"/> instances (or percent of the count at the period's start) per <paramref name="Period"/>.</summary>
/// <param name="Type">Whether <paramref name="Value"/> counts instances or percent.</param>
/// <param name="Value">The change allowed per period (at least 1).</param>
/// <param name="Period">The period the change is measured over (1 second to 30 minutes).</param>
public sealed record AutoscalingPolicy(AutoscalingPolicyType Type, int Value, TimeSpan Period);

/// <summary>What an <see cref="AutoscalingPolicy"/> counts.</summary>
public enum AutoscalingPolicyType
{
    /// <summary>Instances.</summary>
    Pods = 0,

    /// <summary>Percent of the instance count at the start of the period.</summary>
    Percent,
}

/// <summary>Which <see cref="AutoscalingPolicy"/> applies when there are several.</summary>
public enum AutoscalingSelectPolicy
{
    /// <summary>The one that allows the largest change.</summary>
    Max = 0,

    /// <summary>The one that allows the smallest change.</summary>
    Min,

    /// <summary>None: this direction never scales.</summary>
    Disabled,
}
