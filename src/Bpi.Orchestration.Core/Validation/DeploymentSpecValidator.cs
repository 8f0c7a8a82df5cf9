using System.Globalization;
using System.Text.RegularExpressions;
using Bpi.Orchestration.Autoscaling;

namespace Bpi.Orchestration;

/// <summary>Checks a <see cref="DeploymentSpec"/> as a whole and lists every problem, each naming its field.</summary>
internal static partial class DeploymentSpecValidator
{
    internal const int MaxReplicas = 10_000;

    [GeneratedRegex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_.]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvironmentVariableName();

    public static IReadOnlyList<string> Validate(DeploymentSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var errors = new List<string>();

        CheckDnsLabel(errors, "name", spec.Name);
        CheckDnsLabel(errors, "appId", spec.AppId);
        CheckDnsLabel(errors, "environment", spec.Environment);
        if (!EnumChecks.IsDefined(spec.Type))
        {
            errors.Add($"type: '{spec.Type}' is not a deployment type; use one of {string.Join(", ", Enum.GetNames<DeploymentType>())}.");
        }

        CheckComponents(errors, spec);
        CheckComponentTypes(errors, spec);
        CheckInfrastructure(errors, spec.Infrastructure);
        CheckSettings(errors, spec);
        CheckLabels(errors, spec.Labels);
        CheckEncCluster(errors, spec);

        if (spec.Strategy is null)
        {
            errors.Add("strategy: is required.");
        }
        else
        {
            foreach (var problem in spec.Strategy.Validate(spec))
            {
                errors.Add($"strategy ({spec.Strategy.Name}): {problem}");
            }
        }

        return errors;
    }

    /// <summary>The DNS label rule (what <see cref="DnsLabel"/> matches) without the regex: the check runs on every deploy.</summary>
    private static bool IsDnsLabel(string? value)
    {
        if (value is null || value.Length is 0 or > 63 || !char.IsAsciiLetterLower(value[0]) || value[^1] == '-')
        {
            return false;
        }

        foreach (var ch in value)
        {
            if (!(char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch == '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static void CheckDnsLabel(List<string> errors, string field, string? value)
    {
        if (IsDnsLabel(value))
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add($"{field}: is required.");
        }
        else if (!DnsLabel().IsMatch(value))
        {
            errors.Add($"{field}: '{value}' must be 1-63 lowercase letters, digits or '-', start with a letter and end with a letter or digit.");
        }
    }

    private static void CheckComponents(List<string> errors, DeploymentSpec spec)
    {
        if (spec.Components is null || spec.Components.Count == 0)
        {
            errors.Add("components: at least one component is required.");
            return;
        }

        // A handful of components is compared pairwise; a hash set pays off only for many.
        var ids = spec.Components.Count > 8 ? new HashSet<string>(StringComparer.Ordinal) : null;
        for (var i = 0; i < spec.Components.Count; i++)
        {
            var c = spec.Components[i];
            if (c is null)
            {
                errors.Add($"components[{i}]: is null.");
                continue;
            }

            // The field path is only spelled out when there is a problem to name.
            var at = new ComponentPath(i, c.Id);
            if (!IsDnsLabel(c.Id))
            {
                CheckDnsLabel(errors, at + ".id", c.Id);
            }

            if (!string.IsNullOrEmpty(c.Id) && (ids is null ? IdUsedBefore(spec.Components, i) : !ids.Add(c.Id)))
            {
                errors.Add($"{at}.id: '{c.Id}' is used by more than one component; component ids must be unique.");
            }

            if (string.IsNullOrWhiteSpace(c.Image) && c.Command is null)
            {
                errors.Add($"{at}: set an image or a command to run.");
            }

            if (c.Command is not null && string.IsNullOrWhiteSpace(c.Command.FileName))
            {
                errors.Add($"{at}.command.fileName: is required.");
            }

            if (!EnumChecks.IsDefined(c.PullPolicy))
            {
                errors.Add($"{at}.pullPolicy: {(int)c.PullPolicy} is not a pull policy; use IfNotPresent, Always or Never.");
            }

            if (c.Replicas < 0 || c.Replicas > MaxReplicas)
            {
                errors.Add($"{at}.replicas: {c.Replicas} is out of range; use 0 to {MaxReplicas}.");
            }

            CheckComponentResources(errors, at, c.Resources);
            CheckPorts(errors, at, c.Ports);
            CheckEnvironment(errors, at, c);
            if (c.HealthCheck is not null)
            {
                CheckHealthCheck(errors, at.Then(".healthCheck"), c.HealthCheck, c);
            }

            if (c.Autoscaling is not null)
            {
                CheckAutoscaling(errors, at.Then(".autoscaling"), c.Autoscaling, c.Replicas);
            }
        }

        CheckDependencies(errors, spec.Components);
    }

    private static bool IdUsedBefore(IReadOnlyList<ComponentSpec> components, int index)
    {
        for (var j = 0; j < index; j++)
        {
            if (string.Equals(components[j]?.Id, components[index].Id, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static void CheckComponentResources(List<string> errors, ComponentPath at, ComponentResources? r)
    {
        if (r is null)
        {
            errors.Add($"{at}.resources: is required.");
            return;
        }

        if (!(r.CpuCores > 0) || double.IsInfinity(r.CpuCores))
        {
            errors.Add($"{at}.resources.cpuCores: {r.CpuCores.ToString(CultureInfo.InvariantCulture)} must be greater than 0.");
        }

        if (r.MemoryMb < 4)
        {
            errors.Add($"{at}.resources.memoryMb: {r.MemoryMb} must be at least 4.");
        }
    }

    private static void CheckPorts(List<string> errors, ComponentPath at, IReadOnlyList<PortSpec>? ports)
    {
        if (ports is null || ports.Count == 0)
        {
            return;
        }

        if (ports.Count == 1 && ports[0] is { ContainerPort: >= 1 and <= 65535, Name: { } only } && !string.IsNullOrWhiteSpace(only))
        {
            // The common case: one valid port, nothing to compare it with.
            return;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var numbers = new HashSet<(int, PortProtocol)>();
        for (var i = 0; i < ports.Count; i++)
        {
            var p = ports[i];
            if (p.ContainerPort is < 1 or > 65535)
            {
                errors.Add($"{at}.ports[{i}].containerPort: {p.ContainerPort} is out of range; use 1 to 65535.");
            }

            if (string.IsNullOrWhiteSpace(p.Name))
            {
                errors.Add($"{at}.ports[{i}].name: is required.");
            }
            else if (!names.Add(p.Name))
            {
                errors.Add($"{at}.ports[{i}].name: '{p.Name}' is used twice.");
            }

            if (!numbers.Add((p.ContainerPort, p.Protocol)))
            {
                errors.Add($"{at}.ports[{i}]: port {p.ContainerPort}/{p.Protocol} is listed twice.");
            }
        }
    }

    private static void CheckEnvironment(List<string> errors, ComponentPath at, ComponentSpec c)
    {
        if (c.Environment.Count == 0 && c.Secrets.Count == 0)
        {
            return;
        }

        foreach (var name in c.Environment.Keys)
        {
            if (!EnvironmentVariableName().IsMatch(name))
            {
                errors.Add($"{at}.environment: '{name}' is not a valid variable name (letters, digits, '_' and '.', not starting with a digit).");
            }
        }

        foreach (var name in c.Secrets.Keys)
        {
            if (!EnvironmentVariableName().IsMatch(name))
            {
                errors.Add($"{at}.secrets: '{name}' is not a valid variable name (letters, digits, '_' and '.', not starting with a digit).");
            }
            else if (c.Environment.ContainsKey(name))
            {
                errors.Add($"{at}.secrets: '{name}' is also a plain environment variable; keep it in one place.");
            }
        }
    }

    private static void CheckAutoscaling(List<string> errors, ComponentPath at, AutoscalingSpec a, int replicas)
    {
        if (a.MinReplicas < 1 || a.MinReplicas > MaxReplicas)
        {
            errors.Add($"{at}.minReplicas: {a.MinReplicas} is out of range; use 1 to {MaxReplicas}.");
        }

        if (a.MaxReplicas < 1 || a.MaxReplicas > MaxReplicas)
        {
            errors.Add($"{at}.maxReplicas: {a.MaxReplicas} is out of range; use 1 to {MaxReplicas}.");
        }
        else if (a.MaxReplicas < a.MinReplicas)
        {
            errors.Add($"{at}.maxReplicas: {a.MaxReplicas} is less than minReplicas ({a.MinReplicas}); use at least {a.MinReplicas}.");
        }

        if (a.TargetCpuUtilizationPercent is < 1 or > 1000)
        {
            errors.Add($"{at}.targetCpuUtilizationPercent: {a.TargetCpuUtilizationPercent} is out of range; use 1 to 1000 (percent of the CPU each instance requests).");
        }

        AutoscalingChecks.Check(errors, at.ToString(), a);

        if (replicas < a.MinReplicas || replicas > a.MaxReplicas)
        {
            errors.Add($"{at}: replicas ({replicas}) is outside minReplicas..maxReplicas ({a.MinReplicas}..{a.MaxReplicas}); a rollout starts the new revision with replicas, so keep it within the autoscaling range.");
        }
    }

    private static void CheckHealthCheck(List<string> errors, ComponentPath at, HealthCheckSpec h, ComponentSpec c)
    {
        if (!EnumChecks.IsDefined(h.Kind))
        {
            errors.Add($"{at}.kind: '{h.Kind}' is not a health check kind.");
        }

        if (h.Kind == HealthCheckKind.Http && (string.IsNullOrEmpty(h.Path) || h.Path[0] != '/'))
        {
            errors.Add($"{at}.path: '{h.Path}' must start with '/'.");
        }

        if (h.Kind == HealthCheckKind.Exec && h.Command.Count == 0)
        {
            errors.Add($"{at}.command: an exec health check needs a command.");
        }

        if (h.Kind != HealthCheckKind.Exec)
        {
            if (h.Port is { } port && port is < 1 or > 65535)
            {
                errors.Add($"{at}.port: {port} is out of range; use 1 to 65535.");
            }
            else if (h.Port is null && c.Ports.Count == 0)
            {
                errors.Add($"{at}.port: the component has no ports, so a {h.Kind} health check needs an explicit port.");
            }
        }

        if (h.InitialDelay < TimeSpan.Zero)
        {
            errors.Add($"{at}.initialDelay: must not be negative.");
        }

        if (h.Period <= TimeSpan.Zero)
        {
            errors.Add($"{at}.period: must be greater than zero.");
        }

        if (h.Timeout <= TimeSpan.Zero)
        {
            errors.Add($"{at}.timeout: must be greater than zero.");
        }
        else if (h.Period > TimeSpan.Zero && h.Timeout > h.Period)
        {
            // A probe still waiting when the next is due: probes overlap, and a slow instance is probed ever more often.
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{at}.timeout: {h.Timeout:c} exceeds the period {h.Period:c}; a probe must end before the next one starts, so use a timeout of at most the period."));
        }

        CheckMaxDuration(errors, at + ".initialDelay", h.InitialDelay);
        CheckMaxDuration(errors, at + ".period", h.Period);
        CheckMaxDuration(errors, at + ".timeout", h.Timeout);
        if (h.FailureThreshold < 1)
        {
            errors.Add($"{at}.failureThreshold: {h.FailureThreshold} must be at least 1.");
        }

        if (h.SuccessThreshold < 1)
        {
            errors.Add($"{at}.successThreshold: {h.SuccessThreshold} must be at least 1.");
        }

        if (h.ExpectedStatusMin is < 100 or > 599 || h.ExpectedStatusMax is < 100 or > 599 || h.ExpectedStatusMin > h.ExpectedStatusMax)
        {
            errors.Add($"{at}.expectedStatus: {h.ExpectedStatusMin}-{h.ExpectedStatusMax} must be a range within 100-599 with min <= max.");
        }
    }

    private static void CheckDependencies(List<string> errors, IReadOnlyList<ComponentSpec> components)
    {
        var any = false;
        for (var i = 0; i < components.Count; i++)
        {
            any |= components[i] is { DependsOn.Count: > 0 };
        }

        if (!any)
        {
            return;
        }

        var byId = new Dictionary<string, ComponentSpec>(StringComparer.Ordinal);
        foreach (var c in components)
        {
            if (c?.Id is { Length: > 0 } id)
            {
                byId.TryAdd(id, c);
            }
        }

        foreach (var c in byId.Values)
        {
            foreach (var dependency in c.DependsOn)
            {
                if (string.Equals(dependency, c.Id, StringComparison.Ordinal))
                {
                    errors.Add($"components ({c.Id}).dependsOn: a component cannot depend on itself.");
                }
                else if (!byId.ContainsKey(dependency))
                {
                    errors.Add($"components ({c.Id}).dependsOn: '{dependency}' is not a component of this deployment.");
                }
            }
        }

        var cycle = ComponentOrder.FindCycle(byId.Values.ToList());
        if (cycle is not null)
        {
            errors.Add($"components: dependency cycle {string.Join(" -> ", cycle)}; remove one of these dependencies.");
        }
    }

    private static void CheckSettings(List<string> errors, DeploymentSpec spec)
    {
        if (spec.Validation is not { } v)
        {
            errors.Add("validation: is required.");
        }
        else
        {
            if (v.ProgressDeadline <= TimeSpan.Zero)
            {
                errors.Add("validation.progressDeadline: must be greater than zero.");
            }

            if (v.MinReadyTime < TimeSpan.Zero)
            {
                errors.Add("validation.minReadyTime: must not be negative.");
            }

            if (v.PollInterval <= TimeSpan.Zero)
            {
                errors.Add("validation.pollInterval: must be greater than zero.");
            }

            CheckMaxDuration(errors, "validation.progressDeadline", v.ProgressDeadline);
            CheckMaxDuration(errors, "validation.minReadyTime", v.MinReadyTime);
            CheckMaxDuration(errors, "validation.pollInterval", v.PollInterval);
        }

        if (spec.Rollback is not { } r)
        {
            errors.Add("rollback: is required.");
        }
        else
        {
            if (r.HistoryLimit < 1)
            {
                errors.Add($"rollback.historyLimit: {r.HistoryLimit} must be at least 1.");
            }

            if (!(r.HealthFailureRateTrigger > 0 && r.HealthFailureRateTrigger <= 1))
            {
                errors.Add($"rollback.healthFailureRateTrigger: {r.HealthFailureRateTrigger.ToString(CultureInfo.InvariantCulture)} must be greater than 0 and at most 1.");
            }
        }
    }

    private static void CheckLabels(List<string> errors, IReadOnlyDictionary<string, string>? labels)
    {
        if (labels is null || labels.Count == 0)
        {
            return;
        }

        foreach (var (key, value) in labels)
        {
            if (string.IsNullOrWhiteSpace(key) || key.Length > 253)
            {
                errors.Add($"labels: '{key}' is not a valid label key (1-253 characters).");
            }
            else if (key.StartsWith(Runtime.WorkloadLabels.Prefix, StringComparison.Ordinal))
            {
                errors.Add($"labels: '{key}' uses the reserved prefix '{Runtime.WorkloadLabels.Prefix}'.");
            }

            if (value is null || value.Length > 1024)
            {
                errors.Add($"labels: the value of '{key}' must be set and at most 1024 characters.");
            }
        }
    }

    private static void CheckMaxDuration(List<string> errors, string field, TimeSpan value)
    {
        if (value > DeploymentSpec.MaxDuration)
        {
            errors.Add(DeploymentSpec.DescribeTooLong(field, value));
        }
    }

    private static void CheckNonNegative(List<string> errors, string field, double value)
    {
        if (value < 0 || double.IsNaN(value) || double.IsInfinity(value))
        {
            errors.Add($"{field}: {value.ToString(CultureInfo.InvariantCulture)} must be zero or more.");
        }
    }

    /// <summary>Names a component's field in an error (<c>components[0] (web).ports[1]</c>), built only when one is reported.</summary>
    private readonly struct ComponentPath(int index, string? id, string? suffix = null)
    {
        public static string operator +(ComponentPath path, string more) => path.ToString() + more;

        public ComponentPath Then(string more) => new(index, id, suffix + more);

        public override string ToString()
            => string.Create(CultureInfo.InvariantCulture, $"components[{index}]") + (string.IsNullOrEmpty(id) ? "" : $" ({id})") + suffix;
    }
}
