using System.Globalization;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Autoscaling;

/// <summary>The checks of an <see cref="AutoscalingSpec"/> beyond its replica range (part of the whole-spec validation).</summary>
internal static class AutoscalingChecks
{
    private static readonly TimeSpan LongestWindow = TimeSpan.FromHours(1);
    private static readonly TimeSpan LongestPeriod = TimeSpan.FromMinutes(30);

    public static void Check(List<string> errors, string at, AutoscalingSpec a)
    {
        if (a.TargetMemoryUtilizationPercent is < 1 or > 1000)
        {
            errors.Add(Invariant($"{at}.targetMemoryUtilizationPercent: {a.TargetMemoryUtilizationPercent} is out of range; use 1 to 1000 (percent of the memory each instance requests)."));
        }

        if (double.IsNaN(a.Tolerance) || a.Tolerance is < 0 or > 1)
        {
            errors.Add(Invariant($"{at}.tolerance: {a.Tolerance} is out of range; use 0 to 1 (0.1 ignores changes of utilisation within 10 % of the target)."));
        }

        Rules(errors, at + ".scaleUp", a.ScaleUp);
        Rules(errors, at + ".scaleDown", a.ScaleDown);
        Metrics(errors, at, a.Metrics);
    }

    /// <summary>
    /// The name of the runtime when the orchestrator autoscales on it (autoscaling on, a runtime registered) but the runtime
    /// neither reports utilisation (<see cref="IWorkloadUtilization"/>) nor scales itself (<see cref="IWorkloadSelfScaling"/>):
    /// nothing would act on a CPU or memory target there. <see langword="null"/> otherwise.
    /// </summary>
    public static string? RuntimeWithoutUtilization(IWorkloadRuntime? runtime, OrchestrationOptions options)
        => options.Autoscaling && runtime is not null && !Resilience.RuntimeCapabilities.SelfScaling(runtime) && Resilience.RuntimeCapabilities.Utilization(runtime) is null
            ? runtime.Name
            : null;

    /// <summary>
    /// On a runtime that neither reports utilisation nor scales itself (<see cref="RuntimeWithoutUtilization"/>), a CPU or
    /// memory target (the default CPU target included) is refused with what to do instead; custom metrics alone are fine.
    /// </summary>
    public static void Utilization(List<string> errors, string at, AutoscalingSpec a, string runtime)
    {
        var cpu = a.EffectiveCpuUtilizationPercent;
        var memory = a.TargetMemoryUtilizationPercent;
        if (cpu is null && memory is null)
        {
            return;
        }

        var targets = (cpu, memory) switch
        {
            ({ } c, { } m) => Invariant($"CPU ({c} %) and memory ({m} %) targets"),
            ({ } c, null) when a.TargetCpuUtilizationPercent is null => Invariant($"default CPU target ({c} %, used when the spec sets no target and no metric)"),
            ({ } c, null) => Invariant($"CPU target ({c} %)"),
            _ => Invariant($"memory target ({memory} %)"),
        };
        errors.Add($"{at}: the {runtime} runtime neither reports utilisation (IWorkloadUtilization) nor scales workloads itself (IWorkloadSelfScaling), so nothing would act on the {targets}; "
            + "use a runtime that reports utilisation (Docker, local processes, in-memory) or one that autoscales itself (Kubernetes), "
            + "or scale on custom metrics only: remove the utilisation targets and list the metrics in autoscaling.metrics, measured by a registered IAutoscalingMetricSource (.AddStrategies() adapts every IMetricProvider, such as Prometheus).");
    }

    private static void Metrics(List<string> errors, string at, IReadOnlyList<AutoscalingMetric>? metrics)
    {
        if (metrics is null)
        {
            errors.Add($"{at}.metrics: is missing; leave it out of the spec for no custom metric.");
            return;
        }

        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "cpu", "memory" };
        for (var i = 0; i < metrics.Count; i++)
        {
            var m = metrics[i];
            var path = Invariant($"{at}.metrics[{i}]");
            if (m is null)
            {
                errors.Add($"{path}: is missing.");
                continue;
            }

            if (string.IsNullOrEmpty(m.Name) || m.Name.Length > 63 || !m.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                errors.Add($"{path}.name: '{m.Name}' is not a metric name; use 1 to 63 letters, digits, '-', '_' or '.'.");
            }
            else if (!names.Add(m.Name))
            {
                errors.Add($"{path}.name: '{m.Name}' is taken (cpu and memory are the utilisation targets' names, and each metric needs its own); choose another name.");
            }

            if (m.Query is null)
            {
                errors.Add($"{path}.query: is missing; give the query a registered metric source measures (for example a Prometheus query).");
            }

            if ((m.TargetAverageValue is null) == (m.TargetValue is null))
            {
                errors.Add($"{path}: set exactly one of targetAverageValue (the value each instance should carry) and targetValue (the value to keep as measured).");
            }

            if (m.TargetAverageValue is { } average && !(double.IsFinite(average) && average > 0))
            {
                errors.Add(Invariant($"{path}.targetAverageValue: {average} must be a positive number."));
            }

            if (m.TargetValue is { } value && !(double.IsFinite(value) && value > 0))
            {
                errors.Add(Invariant($"{path}.targetValue: {value} must be a positive number."));
            }
        }
    }

    private static void Rules(List<string> errors, string at, AutoscalingRules? rules)
    {
        if (rules is null)
        {
            errors.Add($"{at}: is missing; leave it out of the spec for the defaults.");
            return;
        }

        if (rules.StabilizationWindow < TimeSpan.Zero || rules.StabilizationWindow > LongestWindow)
        {
            errors.Add(Invariant($"{at}.stabilizationWindow: {rules.StabilizationWindow} is out of range; use 0 to 1 hour."));
        }

        if (!EnumChecks.IsDefined(rules.SelectPolicy))
        {
            errors.Add(Invariant($"{at}.selectPolicy: {(int)rules.SelectPolicy} is not a select policy; use Max, Min or Disabled."));
        }

        for (var i = 0; i < (rules.Policies?.Count ?? 0); i++)
        {
            var p = rules.Policies![i];
            var path = Invariant($"{at}.policies[{i}]");
            if (p is null)
            {
                errors.Add($"{path}: is missing.");
                continue;
            }

            if (!EnumChecks.IsDefined(p.Type))
            {
                errors.Add(Invariant($"{path}.type: {(int)p.Type} is not a policy type; use Pods or Percent."));
            }

            if (p.Value < 1)
            {
                errors.Add(Invariant($"{path}.value: {p.Value} is less than 1; allow a change of at least one instance (or percent) per period."));
            }

            if (p.Period < TimeSpan.FromSeconds(1) || p.Period > LongestPeriod)
            {
                errors.Add(Invariant($"{path}.period: {p.Period} is out of range; use 1 second to 30 minutes."));
            }
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
