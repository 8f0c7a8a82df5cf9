using System.Text.Json.Nodes;
using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration.Configuration;

/// <summary>
/// Maps the native deployment document (camelCase: <c>name</c>, <c>appId</c>, <c>components</c>, …) to a
/// <see cref="DeploymentSpec"/>, collecting every problem with its path.
/// </summary>
internal static class DeploymentMapper
{
    /// <summary>
    /// Maps what can be mapped. A value that cannot be read is reported and replaced by a neutral placeholder (an entry
    /// of a list keeps its place), so that the whole-spec checks still run on the rest: duplicate ids, unknown
    /// dependencies and cycles are listed together with the field errors.
    /// </summary>
    public static DeploymentSpec Map(ConfigObject c, DeploymentDocumentOptions overrides)
    {
        var name = overrides.Name ?? c.String("name", required: true);
        if (overrides.Name is not null)
        {
            c.Raw("name");
        }

        var appId = overrides.AppId ?? c.String("appId", required: true);
        if (overrides.AppId is not null)
        {
            c.Raw("appId");
        }

        // `$schema` names the document's JSON Schema for editors (DeploymentDocument.JsonSchemaId); it means nothing here.
        _ = c.String("$schema");
        var environment = c.String("environment");
        var type = c.Enum<DeploymentType>("type");
        var components = new List<ComponentSpec>();
        foreach (var (node, path) in c.List("components", required: true) ?? [])
        {
            if (node is not JsonObject component)
            {
                c.Errors.Add($"{path}: must be an object with id and command (or image), not {ConfigObject.Describe(node)}.");
                components.Add(new ComponentSpec { Id = "", Image = Placeholder });
                continue;
            }

            components.Add(MapComponent(new ConfigObject(component, path, c.Errors), overrides));
        }

        var strategy = StrategyMapper.MapStrategy(c.Object("strategy"), overrides.Strategy, c);
        var validation = c.Object("validation") is { } v ? MapValidation(v) : new ValidationSettings();
        var rollback = c.Object("rollback") is { } r ? MapRollback(r) : new RollbackSettings();
        var labels = c.StringMap("labels");
        var infrastructure = InfrastructureMapper.Map(c);
        var encCluster = EncClusterMapper.Map(c);
        c.RejectUnknown();
        return new DeploymentSpec
        {
            EncCluster = encCluster,
            Name = name ?? "",
            AppId = appId ?? "",
            Environment = environment ?? "development",
            Type = overrides.Type ?? type ?? DeploymentType.DockLockContainer,
            Components = components,
            Strategy = strategy ?? new RecreateStrategySpec(),
            Validation = validation,
            Rollback = rollback,
            Labels = labels ?? new Dictionary<string, string>(),
            Infrastructure = infrastructure,
        };
    }

    /// <summary>Stands in for an image or program that was written but could not be read (never deployed: the document is refused).</summary>
    internal const string Placeholder = "(unreadable)";

    private static ComponentSpec MapComponent(ConfigObject c, DeploymentDocumentOptions options)
    {
        var id = c.String("id", required: true);
        var type = c.Enum<DeploymentType>("type");
        var image = c.String("image");
        var imageWritten = c.Has("image") && c.Raw("image") is not null;
        var before = c.Errors.Count;
        var command = MapCommand(c);
        var commandUnreadable = command is null && c.Errors.Count > before;
        if (command is not null && options.ResolveCommand is { } resolve)
        {
            command = resolve(command);
        }

        var replicas = c.Int("replicas", 0);
        var resources = c.Object("resources") is { } r ? MapResources(r) : new ComponentResources();
        var ports = new List<PortSpec>();
        foreach (var (node, path) in c.List("ports") ?? [])
        {
            switch (node)
            {
                case JsonValue:
                    var single = new ConfigObject(new JsonObject { ["containerPort"] = node.DeepClone() }, path, c.Errors);
                    ports.Add(single.Int("containerPort", 1, 65535) is { } p ? new PortSpec { ContainerPort = p } : UnreadablePort(ports.Count, null));

                    break;
                case JsonObject portObject:
                    var port = new ConfigObject(portObject, path, c.Errors);
                    var portName = port.String("name");
                    var containerPort = port.Int("containerPort", 1, 65535);
                    if (containerPort is null && !port.Has("containerPort"))
                    {
                        port.Error("containerPort", "is required.");
                    }

                    var protocol = port.Enum<PortProtocol>("protocol");
                    port.RejectUnknown();
                    ports.Add(containerPort is { } cp
                        ? new PortSpec { Name = portName ?? "http", ContainerPort = cp, Protocol = protocol ?? PortProtocol.Tcp }
                        : UnreadablePort(ports.Count, portName));

                    break;
                default:
                    c.Errors.Add($"{path}: must be a port number or an object with containerPort, not {ConfigObject.Describe(node)}.");
                    ports.Add(UnreadablePort(ports.Count, null));
                    break;
            }
        }

        var environment = c.StringMap("environment");
        var secrets = c.StringMap("secrets");
        var health = c.Object("healthCheck") is { } h ? MapHealth(h) : null;
        var dependsOn = c.StringList("dependsOn", single: true);
        var runtimeSettings = c.StringMap("runtimeSettings");
        var autoscaling = c.Object("autoscaling") is { } a ? MapAutoscaling(a) : null;
        c.RejectUnknown();
        return new ComponentSpec
        {
            Id = id ?? "",
            Type = type,
            Image = image ?? (imageWritten ? Placeholder : null),
            Command = command ?? (commandUnreadable ? new CommandSpec { FileName = Placeholder } : null),
            Replicas = replicas ?? 1,
            Resources = resources,
            Ports = ports,
            Environment = environment ?? new Dictionary<string, string>(),
            Secrets = secrets ?? new Dictionary<string, string>(),
            HealthCheck = health,
            DependsOn = dependsOn ?? [],
            RuntimeSettings = runtimeSettings ?? new Dictionary<string, string>(),
            Autoscaling = autoscaling,
        };
    }

    /// <summary>
    /// <c>autoscaling: { minReplicas, maxReplicas, targetCpuUtilizationPercent, targetMemoryUtilizationPercent, tolerance,
    /// scaleUp, scaleDown, metrics }</c>; the ranges are Core's whole-spec checks.
    /// </summary>
    private static AutoscalingSpec? MapAutoscaling(ConfigObject a)
    {
        var min = a.Int("minReplicas");
        var max = a.Int("maxReplicas");
        if (max is null && !a.Has("maxReplicas"))
        {
            a.Error("maxReplicas", "is required.");
        }

        var cpu = a.Int("targetCpuUtilizationPercent");
        var memory = a.Int("targetMemoryUtilizationPercent");
        var defaults = new AutoscalingSpec { MaxReplicas = 1 };
        var tolerance = a.Number("tolerance");
        var up = a.Object("scaleUp") is { } u ? MapScalingRules(u, AutoscalingRules.DefaultScaleUp) : AutoscalingRules.DefaultScaleUp;
        var down = a.Object("scaleDown") is { } d ? MapScalingRules(d, AutoscalingRules.DefaultScaleDown) : AutoscalingRules.DefaultScaleDown;
        var metrics = MapAutoscalingMetrics(a);
        a.RejectUnknown();
        return max is { } m
            ? new AutoscalingSpec
            {
                MinReplicas = min ?? defaults.MinReplicas,
                MaxReplicas = m,
                TargetCpuUtilizationPercent = cpu,
                TargetMemoryUtilizationPercent = memory,
                Tolerance = tolerance ?? defaults.Tolerance,
                ScaleUp = up,
                ScaleDown = down,
                Metrics = metrics,
            }
            : null;
    }

    /// <summary>
    /// <c>metrics: [{ name, prometheus | json | metric …, targetAverageValue | targetValue }]</c>: custom metrics, measured
    /// by the same queries as an analysis's metrics; "exactly one target" and the name rules are Core's checks.
    /// </summary>
    private static List<AutoscalingMetric> MapAutoscalingMetrics(ConfigObject a)
    {
        var metrics = new List<AutoscalingMetric>();
        foreach (var (node, path) in a.List("metrics") ?? [])
        {
            if (node is not System.Text.Json.Nodes.JsonObject obj)
            {
                a.Errors.Add($"{path}: must be an object with name, a query (prometheus, json or metric) and targetAverageValue or targetValue, not {ConfigObject.Describe(node)}.");
                continue;
            }

            var m = new ConfigObject(obj, path, a.Errors);
            var name = m.String("name", required: true);
            var query = AnalysisMapper.MapQuery(m);
            var average = m.Number("targetAverageValue");
            var value = m.Number("targetValue");
            m.RejectUnknown();
            if (name is not null && query is not null)
            {
                metrics.Add(new AutoscalingMetric { Name = name, Query = query, TargetAverageValue = average, TargetValue = value });
            }
        }

        return metrics;
    }

    /// <summary><c>scaleUp</c> / <c>scaleDown: { stabilizationWindow, selectPolicy, policies: [{ type, value, period }] }</c>; what is left out keeps the direction's default.</summary>
    private static AutoscalingRules MapScalingRules(ConfigObject r, AutoscalingRules defaults)
    {
        var window = r.Duration("stabilizationWindow");
        var select = r.Enum<AutoscalingSelectPolicy>("selectPolicy");
        List<AutoscalingPolicy>? policies = null;
        if (r.List("policies") is { } items)
        {
            policies = [];
            foreach (var (node, path) in items)
            {
                if (node is not System.Text.Json.Nodes.JsonObject obj)
                {
                    r.Errors.Add($"{path}: must be an object with type, value and period, not {ConfigObject.Describe(node)}.");
                    continue;
                }

                var p = new ConfigObject(obj, path, r.Errors);
                var type = p.Enum<AutoscalingPolicyType>("type", required: true);
                var value = p.Int("value");
                if (value is null && !p.Has("value"))
                {
                    p.Error("value", "is required.");
                }

                var period = p.Duration("period");
                if (period is null && !p.Has("period"))
                {
                    p.Error("period", "is required.");
                }

                p.RejectUnknown();
                if (type is { } t && value is { } v && period is { } per)
                {
                    policies.Add(new AutoscalingPolicy(t, v, per));
                }
            }
        }

        r.RejectUnknown();
        return new AutoscalingRules
        {
            StabilizationWindow = window ?? defaults.StabilizationWindow,
            SelectPolicy = select ?? defaults.SelectPolicy,
            Policies = policies ?? defaults.Policies,
        };
    }

    /// <summary>
    /// A port that was written but could not be read keeps its place in the list with an out-of-range number (what the
    /// spec's check then says is already reported at the same path, and is dropped) and, unless named, a name of its own.
    /// </summary>
    private static PortSpec UnreadablePort(int index, string? name)
        => new() { Name = name ?? $"unreadable-port-{index}", ContainerPort = -1 - index };

    /// <summary><c>command: path/to/app.dll</c>, <c>command: [program, arg, …]</c>, or <c>command: {fileName, arguments, workingDirectory}</c>.</summary>
    private static CommandSpec? MapCommand(ConfigObject c)
    {
        string? fileName = null;
        IReadOnlyList<string> arguments = [];
        string? workingDirectory = null;
        switch (c.Raw("command"))
        {
            case null:
                return null;
            case JsonValue:
                fileName = c.String("command");
                break;
            case JsonArray list:
                var parts = c.StringList("command", numbers: true);
                if (parts is { Count: 0 })
                {
                    c.Error("command", "must name a program.");
                }
                else if (list[0] is JsonValue program && program.GetValueKind() != System.Text.Json.JsonValueKind.String)
                {
                    c.Errors.Add($"{c.At("command")}[0]: the program {ConfigObject.NotAString(program)}");
                    parts = null;
                }

                fileName = parts is { Count: > 0 } ? parts[0] : null;
                arguments = parts?.Skip(1).ToList() ?? [];
                break;
            case JsonObject:
                var o = c.Object("command")!;
                fileName = o.String("fileName", required: true);
                arguments = o.StringList("arguments", numbers: true) ?? [];
                workingDirectory = o.String("workingDirectory");
                o.RejectUnknown();
                break;
        }

        if (fileName is null)
        {
            return null;
        }

        return new CommandSpec { FileName = fileName, Arguments = arguments, WorkingDirectory = workingDirectory };
    }

    private static ComponentResources MapResources(ConfigObject c)
    {
        var defaults = new ComponentResources();
        var cpu = c.Number("cpuCores", 0);
        var memory = c.Int("memoryMb", 0);
        c.RejectUnknown();
        return new ComponentResources { CpuCores = cpu ?? defaults.CpuCores, MemoryMb = memory ?? defaults.MemoryMb };
    }

    private static HealthCheckSpec MapHealth(ConfigObject c)
    {
        var d = new HealthCheckSpec();
        var period = c.Duration("period") ?? d.Period;
        var spec = new HealthCheckSpec
        {
            Kind = c.Enum<HealthCheckKind>("type") ?? d.Kind,
            Path = c.String("path") ?? d.Path,
            Port = c.Int("port", 1, 65535),
            Command = c.StringList("command", numbers: true) ?? d.Command,
            GrpcService = c.String("grpcService") ?? d.GrpcService,
            InitialDelay = c.Duration("initialDelay") ?? d.InitialDelay,
            Period = period,
            // A timeout that is not written never exceeds the period: 1s, or the period when that is shorter.
            Timeout = c.Duration("timeout") ?? (period > TimeSpan.Zero && period < d.Timeout ? period : d.Timeout),
            FailureThreshold = c.Int("failureThreshold", 1) ?? d.FailureThreshold,
            SuccessThreshold = c.Int("successThreshold", 1) ?? d.SuccessThreshold,
            ExpectedStatusMin = c.Int("expectedStatusMin", 100, 599) ?? d.ExpectedStatusMin,
            ExpectedStatusMax = c.Int("expectedStatusMax", 100, 599) ?? d.ExpectedStatusMax,
            Headers = c.StringMap("headers") ?? d.Headers,
        };
        c.RejectUnknown();
        return spec;
    }

    private static ValidationSettings MapValidation(ConfigObject c)
    {
        var d = new ValidationSettings();
        var settings = new ValidationSettings
        {
            HealthValidation = c.Bool("healthValidation") ?? d.HealthValidation,
            ProgressDeadline = c.Duration("progressDeadline") ?? d.ProgressDeadline,
            MinReadyTime = c.Duration("minReadyTime") ?? d.MinReadyTime,
            PollInterval = c.Duration("pollInterval") ?? d.PollInterval,
        };
        c.RejectUnknown();
        return settings;
    }

    private static RollbackSettings MapRollback(ConfigObject c)
    {
        var d = new RollbackSettings();
        var settings = new RollbackSettings
        {
            Automatic = c.Bool("automatic") ?? d.Automatic,
            HistoryLimit = c.Int("historyLimit", 1) ?? d.HistoryLimit,
            HealthFailureRateTrigger = c.Number("healthFailureRateTrigger", 0, 1) ?? d.HealthFailureRateTrigger,
        };
        c.RejectUnknown();
        return settings;
    }
}
