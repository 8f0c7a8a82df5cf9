using Bpi.Orchestration.Autoscaling;
using Xunit;

namespace Bpi.Orchestration.Tests.Autoscaling;

/// <summary>The HPA algorithm on its own, against Kubernetes' documented behaviour, on a manual timeline.</summary>
public sealed class HpaCalculatorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>No stabilisation and no rate limits: only the metrics, the tolerance and min/max decide.</summary>
    private static readonly AutoscalingRules Unlimited = new() { StabilizationWindow = TimeSpan.Zero, Policies = [] };

    private static AutoscalingSpec Spec(int min = 1, int max = 10, AutoscalingRules? up = null, AutoscalingRules? down = null, double tolerance = 0.1)
        => new() { MinReplicas = min, MaxReplicas = max, TargetCpuUtilizationPercent = 50, ScaleUp = up ?? Unlimited, ScaleDown = down ?? Unlimited, Tolerance = tolerance };

    private static HpaComputation Cpu(AutoscalingSpec spec, int current, double utilization, DateTimeOffset? at = null, AutoscalerHistory? history = null)
        => HpaCalculator.Compute(spec, current, [new MetricSample("cpu", utilization, spec.TargetCpuUtilizationPercent ?? 80)], at ?? T0, history ?? new AutoscalerHistory());

    [Theory]
    [InlineData(3, 150, 50, 9)] // ceil(3 × 150 / 50)
    [InlineData(3, 60, 50, 4)] // ceil(3.6)
    [InlineData(4, 20, 50, 2)] // ceil(1.6)
    [InlineData(3, 200, 100, 6)] // exact: not rounded up to 7 by floating point
    [InlineData(1, 0, 50, 0)] // idle: the metric proposes 0 (min/max apply later)
    public void Proposes_ceil_of_current_times_utilisation_over_target(int current, double utilization, double target, int expected)
        => Assert.Equal(expected, HpaCalculator.Propose(current, utilization, target, 0.1));

    [Theory]
    [InlineData(55, 4)] // ratio 1.1: within the tolerance
    [InlineData(45, 4)] // ratio 0.9: within
    [InlineData(56, 5)] // ratio 1.12: ceil(4.48)
    [InlineData(44, 4)] // ratio 0.88: ceil(3.52) = 4, proposes the same count
    [InlineData(35, 3)] // ratio 0.7: ceil(2.8)
    public void Keeps_the_count_while_the_ratio_is_within_the_ten_percent_tolerance(double utilization, int expected)
        => Assert.Equal(expected, Cpu(Spec(), current: 4, utilization).Desired);

    [Fact]
    public void Takes_the_largest_proposal_over_the_metrics()
    {
        var spec = Spec() with { TargetMemoryUtilizationPercent = 50 };
        var result = HpaCalculator.Compute(spec, 2, [new MetricSample("cpu", 100, 50), new MetricSample("memory", 150, 50)], T0, new AutoscalerHistory());

        Assert.Equal(6, result.Desired);
        Assert.Equal([4, 6], result.Readings.Select(r => r.ProposedReplicas));
        Assert.Contains("memory", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Clamps_to_max_and_min_replicas()
    {
        var spec = Spec(min: 2, max: 5);

        Assert.Equal(5, Cpu(spec, 3, 500).Desired);
        Assert.Contains("maxReplicas", Cpu(spec, 3, 500).Reason, StringComparison.Ordinal);
        Assert.Equal(2, Cpu(spec, 4, 1).Desired);
        Assert.Contains("minReplicas", Cpu(spec, 4, 1).Reason, StringComparison.Ordinal);

        // A count outside the range (a manual scale) is brought back in without looking at the metrics.
        Assert.Equal(5, Cpu(spec, 8, 50).Desired);
        Assert.Equal(2, Cpu(spec, 1, 50).Desired);
    }

    [Fact]
    public void A_component_scaled_to_zero_is_left_alone()
        => Assert.Equal(0, Cpu(Spec(min: 1), 0, 500).Desired);

    [Fact]
    public void Without_measurements_the_count_is_kept()
        => Assert.Equal(3, HpaCalculator.Compute(Spec(), 3, [], T0, new AutoscalerHistory()).Desired);

    [Fact]
    public void Scale_down_waits_for_the_highest_recommendation_of_the_window()
    {
        var spec = Spec(down: Unlimited with { StabilizationWindow = TimeSpan.FromSeconds(300) });
        var history = new AutoscalerHistory();

        // Busy at t0: 6 instances are recommended and kept.
        Assert.Equal(6, Cpu(spec, 6, 50, T0, history).Desired);

        // Idle from t+60: the metric asks for 1, but 6 is within the 300-second window.
        for (var s = 60; s < 300; s += 60)
        {
            var held = Cpu(spec, 6, 5, T0.AddSeconds(s), history);
            Assert.Equal(6, held.Desired);
            Assert.Equal(1, held.Recommendation);
            Assert.Contains("scale-down stabilisation", held.Reason, StringComparison.Ordinal);
        }

        // 300 s after the last high recommendation it has left the window: down to what the window's recommendations allow (all 1).
        Assert.Equal(1, Cpu(spec, 6, 5, T0.AddSeconds(300), history).Desired);
    }

    [Fact]
    public void A_short_dip_within_the_scale_down_window_does_not_scale_down()
    {
        var spec = Spec(down: Unlimited with { StabilizationWindow = TimeSpan.FromSeconds(120) });
        var history = new AutoscalerHistory();
        Assert.Equal(4, Cpu(spec, 4, 50, T0, history).Desired);
        Assert.Equal(4, Cpu(spec, 4, 10, T0.AddSeconds(30), history).Desired); // dip
        Assert.Equal(4, Cpu(spec, 4, 50, T0.AddSeconds(60), history).Desired); // back
        Assert.Equal(4, Cpu(spec, 4, 50, T0.AddSeconds(200), history).Desired);
    }

    [Fact]
    public void Scale_up_stabilisation_takes_the_lowest_recommendation_of_its_window()
    {
        var spec = Spec(up: Unlimited with { StabilizationWindow = TimeSpan.FromSeconds(60) });
        var history = new AutoscalerHistory();
        Assert.Equal(2, Cpu(spec, 2, 50, T0, history).Desired);

        // A spike at t+10 asks for 8: the window still holds the 2 of t0.
        var spike = Cpu(spec, 2, 200, T0.AddSeconds(10), history);
        Assert.Equal(2, spike.Desired);
        Assert.Contains("scale-up stabilisation", spike.Reason, StringComparison.Ordinal);

        // Still high at t+61: the lowest recommendation of the last 60 s is the spike's 8.
        Assert.Equal(8, Cpu(spec, 2, 200, T0.AddSeconds(61), history).Desired);
    }

    [Fact]
    public void Pods_policy_limits_the_change_per_period_counting_changes_made_within_it()
    {
        var spec = Spec(up: Unlimited with { Policies = [new AutoscalingPolicy(AutoscalingPolicyType.Pods, 1, TimeSpan.FromSeconds(60))] });
        var history = new AutoscalerHistory();

        var first = Cpu(spec, 2, 200, T0, history);
        Assert.Equal(3, first.Desired);
        Assert.Contains("scale-up policies", first.Reason, StringComparison.Ordinal);
        history.RecordScale(T0, +1);

        // 30 s later the period still holds that +1: the period started at 2, so 3 is the limit.
        Assert.Equal(3, Cpu(spec, 3, 200, T0.AddSeconds(30), history).Desired);

        // Past the period: one more.
        Assert.Equal(4, Cpu(spec, 3, 200, T0.AddSeconds(61), history).Desired);
    }

    [Fact]
    public void Percent_policy_rounds_up_when_scaling_up_and_down_when_scaling_down()
    {
        var up = Spec(max: 100, up: Unlimited with { Policies = [new AutoscalingPolicy(AutoscalingPolicyType.Percent, 50, TimeSpan.FromSeconds(60))] });
        Assert.Equal(5, Cpu(up, 3, 500).Desired); // ceil(3 × 1.5) = 5

        var down = Spec(down: Unlimited with { Policies = [new AutoscalingPolicy(AutoscalingPolicyType.Percent, 50, TimeSpan.FromSeconds(60))] });
        Assert.Equal(3, Cpu(down, 7, 1).Desired); // (int)(7 × 0.5) = 3
    }

    [Fact]
    public void Select_policy_Max_takes_the_largest_change_Min_the_smallest()
    {
        AutoscalingPolicy[] policies = [new(AutoscalingPolicyType.Pods, 4, TimeSpan.FromSeconds(15)), new(AutoscalingPolicyType.Percent, 100, TimeSpan.FromSeconds(15))];
        var max = Spec(max: 100, up: Unlimited with { Policies = policies, SelectPolicy = AutoscalingSelectPolicy.Max });
        var min = Spec(max: 100, up: Unlimited with { Policies = policies, SelectPolicy = AutoscalingSelectPolicy.Min });

        // From 10 with demand for 100: +4 → 14, +100 % → 20.
        Assert.Equal(20, Cpu(max, 10, 500).Desired);
        Assert.Equal(14, Cpu(min, 10, 500).Desired);

        // From 1: +4 → 5, +100 % → 2.
        Assert.Equal(5, Cpu(max, 1, 5000).Desired);
        Assert.Equal(2, Cpu(min, 1, 5000).Desired);

        // Scaling down from 10 to 1 with Pods 4 and Percent 50: Max allows the larger drop (to 5), Min the smaller (to 6).
        AutoscalingPolicy[] downPolicies = [new(AutoscalingPolicyType.Pods, 4, TimeSpan.FromSeconds(15)), new(AutoscalingPolicyType.Percent, 50, TimeSpan.FromSeconds(15))];
        Assert.Equal(5, Cpu(Spec(down: Unlimited with { Policies = downPolicies }), 10, 1).Desired);
        Assert.Equal(6, Cpu(Spec(down: Unlimited with { Policies = downPolicies, SelectPolicy = AutoscalingSelectPolicy.Min }), 10, 1).Desired);
    }

    [Fact]
    public void A_disabled_direction_never_scales()
    {
        var spec = Spec(up: Unlimited with { SelectPolicy = AutoscalingSelectPolicy.Disabled }, down: Unlimited with { SelectPolicy = AutoscalingSelectPolicy.Disabled });
        Assert.Equal(3, Cpu(spec, 3, 500).Desired);
        Assert.Equal(3, Cpu(spec, 3, 1).Desired);
        Assert.Contains("disabled", Cpu(spec, 3, 1).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Kubernetes_defaults_double_or_add_four_per_15_seconds_and_wait_300_seconds_to_scale_down()
    {
        var spec = new AutoscalingSpec { MaxReplicas = 50, TargetCpuUtilizationPercent = 50 };
        Assert.Equal(0.1, spec.Tolerance);
        Assert.Equal(TimeSpan.Zero, spec.ScaleUp.StabilizationWindow);
        Assert.Equal(TimeSpan.FromSeconds(300), spec.ScaleDown.StabilizationWindow);

        var history = new AutoscalerHistory();
        Assert.Equal(5, Cpu(spec, 1, 5000, T0, history).Desired); // max(1 + 4, 1 × 2)
        history.RecordScale(T0, +4);
        Assert.Equal(5, Cpu(spec, 5, 5000, T0.AddSeconds(10), history).Desired); // the period started at 1: still 5
        Assert.Equal(10, Cpu(spec, 5, 5000, T0.AddSeconds(16), history).Desired); // max(5 + 4, 5 × 2)

        Assert.Equal(10, Cpu(spec, 10, 1, T0.AddSeconds(100), history).Desired); // held by the window
        Assert.Equal(1, Cpu(spec, 10, 1, T0.AddSeconds(317), history).Desired); // −100 %: straight down to what is needed
    }

    [Fact]
    public void Without_targets_cpu_at_80_percent_applies_and_memory_alone_turns_cpu_off()
    {
        Assert.Equal(80, new AutoscalingSpec { MaxReplicas = 3 }.EffectiveCpuUtilizationPercent);
        Assert.Null(new AutoscalingSpec { MaxReplicas = 3, TargetMemoryUtilizationPercent = 70 }.EffectiveCpuUtilizationPercent);
        Assert.Equal(40, new AutoscalingSpec { MaxReplicas = 3, TargetCpuUtilizationPercent = 40, TargetMemoryUtilizationPercent = 70 }.EffectiveCpuUtilizationPercent);
    }
}
