using System.Globalization;

namespace Bpi.Orchestration.Autoscaling;

/// <summary>One measured target: the average utilisation of the instances and what the spec asks for, in the same unit.</summary>
/// <param name="Name">The metric (<c>cpu</c>, <c>memory</c>).</param>
/// <param name="Utilization">The average utilisation, in percent of the request.</param>
/// <param name="Target">The target, in percent of the request.</param>
internal readonly record struct MetricSample(string Name, double Utilization, double Target);

/// <summary>What the calculator decided, and why.</summary>
/// <param name="Desired">The replica count to converge to.</param>
/// <param name="Recommendation">The count the metrics alone ask for (before stabilisation and rate limits).</param>
/// <param name="Readings">Each metric with the count it proposes.</param>
/// <param name="Reason">Why <paramref name="Desired"/> is what it is, in one line.</param>
internal sealed record HpaComputation(int Desired, int Recommendation, IReadOnlyList<AutoscalingMetricReading> Readings, string Reason);

/// <summary>
/// The Kubernetes HorizontalPodAutoscaler's algorithm (<c>pkg/controller/podautoscaler</c>: the replica calculator and
/// <c>normalizeDesiredReplicasWithBehaviors</c>), as a pure function of a spec, the current count, the measurements, the
/// time and the <see cref="AutoscalerHistory"/> of earlier recommendations and scale events:
/// <list type="number">
/// <item>a count outside <c>min..max</c> is brought inside it first, and a count of 0 is left alone (scaling disabled);</item>
/// <item>each metric proposes <c>ceil(current × utilisation / target)</c>, or the current count when the ratio is within the tolerance;</item>
/// <item>the largest proposal is the recommendation;</item>
/// <item>stabilisation: scaling up goes no higher than the lowest recommendation within the scale-up window, scaling down
/// no lower than the highest within the scale-down window;</item>
/// <item>rate: each policy allows <c>start ± value</c> (Pods) or <c>start × (1 ± value %)</c> (Percent), <c>start</c> being the count
/// at the beginning of the policy's period (the current count minus the changes made within the period); the select policy
/// picks the largest change (Max), the smallest (Min) or none (Disabled); the result is clamped to <c>min..max</c>.</item>
/// </list>
/// </summary>
internal static class HpaCalculator
{
    /// <summary>The count one metric proposes: <c>ceil(current × utilisation / target)</c>, or <paramref name="current"/> within the tolerance.</summary>
    public static int Propose(int current, double utilization, double target, double tolerance)
    {
        var ratio = utilization / target;
        // The epsilon keeps a ratio of exactly 1 ± tolerance (1.1 is 1.1000000000000001 in binary) inside it.
        if (Math.Abs(1.0 - ratio) <= tolerance + 1e-9)
        {
            return current;
        }

        // A tiny epsilon keeps 3 × 200 / 100 = 6.000000000000001 from becoming 7.
        return (int)Math.Ceiling((current * ratio) - 1e-9);
    }

    /// <summary>Decides the replica count; records the recommendation in <paramref name="history"/> (not a scale: <see cref="AutoscalerHistory.RecordScale"/> does that once it is applied).</summary>
    /// <remarks>
    /// <paramref name="unread"/> names the targets that could not be read this pass: they are skipped, and, as the HPA
    /// does, the count is not lowered while any is unread (the missing metric might ask for more).
    /// </remarks>
    public static HpaComputation Compute(AutoscalingSpec spec, int current, IReadOnlyList<MetricSample> metrics, DateTimeOffset now, AutoscalerHistory history, IReadOnlyList<string>? unread = null)
    {
        var readings = new List<AutoscalingMetricReading>(metrics.Count);
        var recommendation = int.MinValue;
        string? driver = null;
        foreach (var m in metrics)
        {
            var proposal = current == 0 ? 0 : Propose(current, m.Utilization, m.Target, spec.Tolerance);
            readings.Add(new AutoscalingMetricReading(m.Name, m.Utilization, m.Target, proposal));
            if (proposal > recommendation)
            {
                recommendation = proposal;
                driver = m.Name;
            }
        }

        if (current == 0)
        {
            return new HpaComputation(0, 0, readings, "the component is scaled to zero: autoscaling waits until it runs again");
        }

        if (current > spec.MaxReplicas)
        {
            return new HpaComputation(spec.MaxReplicas, spec.MaxReplicas, readings, Invariant($"{current} instances are above maxReplicas ({spec.MaxReplicas})"));
        }

        if (current < spec.MinReplicas)
        {
            return new HpaComputation(spec.MinReplicas, spec.MinReplicas, readings, Invariant($"{current} instances are below minReplicas ({spec.MinReplicas})"));
        }

        if (readings.Count == 0)
        {
            return new HpaComputation(current, current, readings, "no utilisation measured yet: the count is kept");
        }

        var why = Describe(readings, driver!, current, recommendation);
        if (unread is { Count: > 0 })
        {
            why += "; skipped " + string.Join("; ", unread);
            if (recommendation < current)
            {
                // HPA's computeReplicasForMetrics: some metrics invalid and a scale-down proposed: no change, nothing remembered.
                return new HpaComputation(current, current, readings, why + "; no scale-in while a metric cannot be read");
            }
        }

        // Bounded first (min/max are monotone, so this changes no outcome of the windows or the policies, only the
        // recommendation remembered and the reason given: "floored at minReplicas" rather than "held by the window").
        var bounded = Math.Clamp(recommendation, spec.MinReplicas, spec.MaxReplicas);
        if (bounded != recommendation)
        {
            why += bounded == spec.MaxReplicas ? Invariant($"; capped at maxReplicas ({bounded})") : Invariant($"; floored at minReplicas ({bounded})");
        }

        var stabilized = Stabilize(spec, current, bounded, now, history, ref why);
        var desired = LimitRate(spec, current, stabilized, now, history, ref why);
        return new HpaComputation(desired, recommendation, readings, why);
    }

    private static string Describe(List<AutoscalingMetricReading> readings, string driver, int current, int recommendation)
    {
        var reading = readings.First(r => r.Name == driver);
        return recommendation == current
            ? Invariant($"{string.Join(", ", readings.Select(r => Invariant($"{r.Name} {Figure(r.Name, r.Value)} of {Figure(r.Name, r.Target)}")))}: within tolerance")
            : Invariant($"{driver} {Figure(driver, reading.Value)} of {Figure(driver, reading.Target)} target asks for {recommendation}");
    }

    /// <summary>A utilisation in percent (cpu, memory), a custom metric's value as it is (per instance for an average-value target).</summary>
    private static string Figure(string metric, double value)
        => metric is "cpu" or "memory" ? Invariant($"{value:0.#}%") : Invariant($"{value:0.###}");

    /// <summary>HPA's <c>stabilizeRecommendationWithBehaviors</c>: bounds the recommendation by those of the windows, then remembers it.</summary>
    private static int Stabilize(AutoscalingSpec spec, int current, int recommendation, DateTimeOffset now, AutoscalerHistory history, ref string why)
    {
        var up = recommendation;
        var down = recommendation;
        var upCutoff = now - spec.ScaleUp.StabilizationWindow;
        var downCutoff = now - spec.ScaleDown.StabilizationWindow;
        foreach (var (at, replicas) in history.Recommendations)
        {
            if (at > upCutoff)
            {
                up = Math.Min(up, replicas);
            }

            if (at > downCutoff)
            {
                down = Math.Max(down, replicas);
            }
        }

        history.RecordRecommendation(now, recommendation, Longest(spec.ScaleUp.StabilizationWindow, spec.ScaleDown.StabilizationWindow));
        var result = current;
        if (result < up)
        {
            result = up;
        }

        if (result > down)
        {
            result = down;
        }

        if (result != recommendation)
        {
            why += result > recommendation && recommendation < current
                ? Invariant($"; held at {result} by the scale-down stabilisation window ({spec.ScaleDown.StabilizationWindow.TotalSeconds:0.#} s)")
                : Invariant($"; held at {result} by the scale-up stabilisation window ({spec.ScaleUp.StabilizationWindow.TotalSeconds:0.#} s)");
        }

        return result;
    }

    /// <summary>HPA's <c>convertDesiredReplicasWithBehaviorRate</c>: the policies' limit, then <c>min..max</c>.</summary>
    private static int LimitRate(AutoscalingSpec spec, int current, int desired, DateTimeOffset now, AutoscalerHistory history, ref string why)
    {
        if (desired > current)
        {
            if (spec.ScaleUp.SelectPolicy == AutoscalingSelectPolicy.Disabled)
            {
                why += "; scaling up is disabled";
                return current;
            }

            var limit = Math.Min(ScaleUpLimit(spec.ScaleUp, current, now, history), spec.MaxReplicas);
            if (desired > limit)
            {
                why += Invariant($"; limited to {limit} by the scale-up policies");
                return limit;
            }

            return desired;
        }

        if (desired < current)
        {
            if (spec.ScaleDown.SelectPolicy == AutoscalingSelectPolicy.Disabled)
            {
                why += "; scaling down is disabled";
                return current;
            }

            var limit = Math.Max(ScaleDownLimit(spec.ScaleDown, current, now, history), spec.MinReplicas);
            if (desired < limit)
            {
                why += Invariant($"; limited to {limit} by the scale-down policies");
                return limit;
            }

            return desired;
        }

        return desired;
    }

    private static int ScaleUpLimit(AutoscalingRules rules, int current, DateTimeOffset now, AutoscalerHistory history)
    {
        if (rules.Policies.Count == 0)
        {
            return int.MaxValue;
        }

        var result = rules.SelectPolicy == AutoscalingSelectPolicy.Min ? int.MaxValue : int.MinValue;
        foreach (var policy in rules.Policies)
        {
            var start = current - history.AddedSince(now - policy.Period) + history.RemovedSince(now - policy.Period);
            var proposed = policy.Type == AutoscalingPolicyType.Pods
                ? start + policy.Value
                : (int)Math.Ceiling(start * (1 + (policy.Value / 100.0)));
            result = rules.SelectPolicy == AutoscalingSelectPolicy.Min ? Math.Min(result, proposed) : Math.Max(result, proposed);
        }

        return result;
    }

    private static int ScaleDownLimit(AutoscalingRules rules, int current, DateTimeOffset now, AutoscalerHistory history)
    {
        if (rules.Policies.Count == 0)
        {
            return int.MinValue;
        }

        // For scaling down the smallest change is the highest count: Min selects the maximum, Max the minimum.
        var result = rules.SelectPolicy == AutoscalingSelectPolicy.Min ? int.MinValue : int.MaxValue;
        foreach (var policy in rules.Policies)
        {
            var start = current - history.AddedSince(now - policy.Period) + history.RemovedSince(now - policy.Period);
            var proposed = policy.Type == AutoscalingPolicyType.Pods
                ? start - policy.Value
                : (int)(start * (1 - (policy.Value / 100.0)));
            result = rules.SelectPolicy == AutoscalingSelectPolicy.Min ? Math.Max(result, proposed) : Math.Min(result, proposed);
        }

        return result;
    }

    private static TimeSpan Longest(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
