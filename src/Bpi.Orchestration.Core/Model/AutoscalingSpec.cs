namespace Bpi.Orchestration;

/// <summary>
/// Horizontal autoscaling of a component between rollouts: the runtime keeps between <see cref="MinReplicas"/> and
/// <see cref="MaxReplicas"/> instances of the serving revision, adding instances when their average CPU use passes
/// <see cref="TargetCpuUtilizationPercent"/> of the CPU they request (<see cref="ComponentResources.CpuCores"/>) and
/// removing them when it falls below. <see cref="ComponentSpec.Replicas"/> stays the count a rollout starts the new
/// revision with. On Kubernetes this is an <c>autoscaling/v2</c> HorizontalPodAutoscaler on the serving revision's
/// Deployment; a runtime that cannot autoscale ignores it.
/// </summary>
public sealed record AutoscalingSpec
{
    /// <summary>The fewest instances to keep.</summary>
    /// <value>The default value is 1.</value>
    public int MinReplicas { get; init; } = 1;

    /// <summary>The most instances to run; at least <see cref="MinReplicas"/>.</summary>
    public required int MaxReplicas { get; init; }

    /// <summary>The average CPU use to keep, in percent of the CPU each instance requests (1 to 1000).</summary>
    /// <value>The default value is 80.</value>
    public int TargetCpuUtilizationPercent { get; init; } = 80;
}
