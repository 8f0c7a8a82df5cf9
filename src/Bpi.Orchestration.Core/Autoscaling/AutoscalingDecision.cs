namespace Bpi.Orchestration;

/// <summary>The autoscaler's last decision for one component (<see cref="DeploymentStatus.Autoscaling"/>).</summary>
/// <param name="ComponentId">The component.</param>
/// <param name="Revision">The serving revision it looked at.</param>
/// <param name="At">When it decided.</param>
/// <param name="CurrentReplicas">The replica count it found.</param>
/// <param name="DesiredReplicas">The replica count it decided on (equal to <paramref name="CurrentReplicas"/> when it changed nothing).</param>
/// <param name="Metrics">What it measured, with the count each metric proposed.</param>
/// <param name="Reason">Why, in one line (a measurement, a stabilisation window, a rate limit, a paused autoscaler, a failed measurement).</param>
public sealed record AutoscalingDecision(
    string ComponentId,
    int Revision,
    DateTimeOffset At,
    int CurrentReplicas,
    int DesiredReplicas,
    IReadOnlyList<AutoscalingMetricReading> Metrics,
    string Reason)
{
    /// <summary>Whether the decision changed the replica count.</summary>
    public bool Scaled => DesiredReplicas != CurrentReplicas;
}

/// <summary>One measured metric of an <see cref="AutoscalingDecision"/>.</summary>
/// <param name="Name">The metric: <c>cpu</c>, <c>memory</c> or a custom metric's <see cref="AutoscalingMetric.Name"/>.</param>
/// <param name="Value">For <c>cpu</c> and <c>memory</c>, the average utilisation of the instances in percent of what each requests; for a custom metric, its value (per instance with an average-value target).</param>
/// <param name="Target">The target, in the unit of <paramref name="Value"/>.</param>
/// <param name="ProposedReplicas">The count this metric alone asks for.</param>
public sealed record AutoscalingMetricReading(string Name, double Value, double Target, int ProposedReplicas);
