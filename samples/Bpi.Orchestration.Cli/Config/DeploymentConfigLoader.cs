using System.Globalization;
using System.Text.Json.Nodes;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.BlueGreen;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Strategies.Rolling;

namespace Bpi.Orchestration.Cli.Config;

/// <summary>What the command line overrides in a config file.</summary>
internal sealed record ConfigOverrides
{
    public string? Name { get; init; }

    public string? AppId { get; init; }

    public DeploymentType? Type { get; init; }

    public string? Strategy { get; init; }
}

/// <summary>
/// Loads a deployment config file (YAML, or JSON when the file ends in <c>.json</c>) into a <see cref="DeploymentSpec"/>.
/// Every problem is listed at once, with its path: syntax, unknown fields, wrong types, and then the SDK's own
/// validation of the spec. The format is documented in the CLI README.
/// </summary>
internal static class DeploymentConfigLoader
{
    public static Task<DeploymentSpec> LoadFileAsync(string path, ConfigOverrides overrides, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            // A regular file of at most 1 MiB: a FIFO, device or directory is refused before anything is read.
            text = Hosting.InputFiles.ReadText(path, Hosting.InputFiles.MaxConfigBytes, "config file");
        }
        catch (CliException ex) when (ex.ExitCode == ExitCodes.NotFound)
        {
            throw OrchestrationException.InvalidConfiguration($"Config file '{path}'", ["the file does not exist."]);
        }

        var json = path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        return Task.FromResult(Load(text, json, path, Path.GetDirectoryName(Path.GetFullPath(path))!, overrides));
    }

    /// <summary>Parses and maps a config document; <paramref name="baseDirectory"/> resolves relative <c>.dll</c>/<c>.csproj</c> commands.</summary>
    public static DeploymentSpec Load(string text, bool json, string source, string baseDirectory, ConfigOverrides overrides)
    {
        var root = YamlJson.Parse(text, json, source);
        if (root is not JsonObject obj)
        {
            throw OrchestrationException.InvalidConfiguration($"Config file '{source}'", [$"the document must be an object with name, appId and components, not {ConfigObject.Describe(root)}."]);
        }

        var errors = new List<string>();
        var spec = Map(new ConfigObject(obj, "", errors), baseDirectory, overrides);
        if (errors.Count == 0 && spec is not null)
        {
            errors.AddRange(spec.Validate());
        }

        if (errors.Count > 0 || spec is null)
        {
            throw OrchestrationException.InvalidConfiguration($"Config file '{source}'", errors);
        }

        return spec;
    }

    private static DeploymentSpec? Map(ConfigObject c, string baseDirectory, ConfigOverrides overrides)
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

        var environment = c.String("environment");
        var type = c.Enum<DeploymentType>("type");
        var components = new List<ComponentSpec>();
        foreach (var (node, path) in c.List("components", required: true) ?? [])
        {
            if (node is not JsonObject component)
            {
                c.Errors.Add($"{path}: must be an object with id and command (or image), not {ConfigObject.Describe(node)}.");
                continue;
            }

            if (MapComponent(new ConfigObject(component, path, c.Errors), baseDirectory) is { } mapped)
            {
                components.Add(mapped);
            }
        }

        var strategy = MapStrategy(c.Object("strategy"), overrides.Strategy, c);
        var validation = c.Object("validation") is { } v ? MapValidation(v) : new ValidationSettings();
        var rollback = c.Object("rollback") is { } r ? MapRollback(r) : new RollbackSettings();
        var labels = c.StringMap("labels");
        EncryptionLevel? encryption = null;
        if (c.Object("security") is { } security)
        {
            // What the security gate judges beyond the components (check BPI-SEC-032): `security: { encryptionLevel: high }`.
            encryption = security.Enum<EncryptionLevel>("encryptionLevel");
            security.RejectUnknown();
        }

        c.RejectUnknown();
        if (name is null || appId is null)
        {
            return null;
        }

        return new DeploymentSpec
        {
            Name = name,
            AppId = appId,
            Environment = environment ?? "development",
            Type = overrides.Type ?? type ?? DeploymentType.DockLockContainer,
            Components = components,
            Strategy = strategy ?? new RecreateStrategySpec(),
            Validation = validation,
            Rollback = rollback,
            Labels = labels ?? new Dictionary<string, string>(),
            Infrastructure = encryption is { } level ? new InfrastructureConfig { Security = new SecurityConfig { EncryptionLevel = level } } : new InfrastructureConfig(),
        };
    }

    private static ComponentSpec? MapComponent(ConfigObject c, string baseDirectory)
    {
        var id = c.String("id", required: true);
        var image = c.String("image");
        var command = MapCommand(c, baseDirectory);
        var replicas = c.Int("replicas", 0);
        var resources = c.Object("resources") is { } r ? MapResources(r) : new ComponentResources();
        var ports = new List<PortSpec>();
        foreach (var (node, path) in c.List("ports") ?? [])
        {
            switch (node)
            {
                case JsonValue:
                    var single = new ConfigObject(new JsonObject { ["containerPort"] = node.DeepClone() }, path, c.Errors);
                    if (single.Int("containerPort", 1, 65535) is { } p)
                    {
                        ports.Add(new PortSpec { ContainerPort = p });
                    }

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
                    if (containerPort is { } cp)
                    {
                        ports.Add(new PortSpec { Name = portName ?? "http", ContainerPort = cp, Protocol = protocol ?? PortProtocol.Tcp });
                    }

                    break;
                default:
                    c.Errors.Add($"{path}: must be a port number or an object with containerPort, not {ConfigObject.Describe(node)}.");
                    break;
            }
        }

        var environment = c.StringMap("environment");
        var secrets = c.StringMap("secrets");
        var health = c.Object("healthCheck") is { } h ? MapHealth(h) : null;
        var dependsOn = c.StringList("dependsOn", single: true);
        var runtimeSettings = c.StringMap("runtimeSettings");
        c.RejectUnknown();
        if (id is null)
        {
            return null;
        }

        return new ComponentSpec
        {
            Id = id,
            Image = image,
            Command = command,
            Replicas = replicas ?? 1,
            Resources = resources,
            Ports = ports,
            Environment = environment ?? new Dictionary<string, string>(),
            Secrets = secrets ?? new Dictionary<string, string>(),
            HealthCheck = health,
            DependsOn = dependsOn ?? [],
            RuntimeSettings = runtimeSettings ?? new Dictionary<string, string>(),
        };
    }

    /// <summary><c>command: path/to/app.dll</c>, <c>command: [program, arg, …]</c>, or <c>command: {fileName, arguments, workingDirectory}</c>.</summary>
    private static CommandSpec? MapCommand(ConfigObject c, string baseDirectory)
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

        // A .dll or .csproj next to the config file is found from anywhere.
        if (!Path.IsPathRooted(fileName) && (fileName.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || fileName.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase) || fileName.StartsWith("./", StringComparison.Ordinal) || fileName.StartsWith("../", StringComparison.Ordinal)))
        {
            fileName = Path.GetFullPath(Path.Combine(baseDirectory, fileName));
        }

        // A relative working directory is relative to the config file, like a relative command (not to the current directory).
        if (workingDirectory is { Length: > 0 } && !Path.IsPathRooted(workingDirectory))
        {
            workingDirectory = Path.GetFullPath(Path.Combine(baseDirectory, workingDirectory));
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
        var spec = new HealthCheckSpec
        {
            Kind = c.Enum<HealthCheckKind>("type") ?? d.Kind,
            Path = c.String("path") ?? d.Path,
            Port = c.Int("port", 1, 65535),
            Command = c.StringList("command", numbers: true) ?? d.Command,
            GrpcService = c.String("grpcService") ?? d.GrpcService,
            InitialDelay = c.Duration("initialDelay") ?? d.InitialDelay,
            Period = c.Duration("period") ?? d.Period,
            Timeout = c.Duration("timeout") ?? d.Timeout,
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

    /// <summary>The strategy section; <paramref name="overrideType"/> (<c>--strategy</c>) replaces its <c>type</c>.</summary>
    private static StrategySpec? MapStrategy(ConfigObject? c, string? overrideType, ConfigObject parent)
    {
        var type = overrideType ?? c?.String("type");
        if (c is not null && overrideType is not null && !string.Equals(c.String("type"), overrideType, StringComparison.OrdinalIgnoreCase))
        {
            // --strategy names another strategy than the file: the file's settings are for that one, so they are ignored.
            foreach (var key in c.Keys)
            {
                c.Raw(key);
            }

            c = null;
        }

        if (type is null)
        {
            if (c is not null && c.Keys.Any())
            {
                c.Error("type", "is required when strategy has settings: recreate, rolling, canary or blueGreen.");
            }

            return null;
        }

        // Names and aliases (blueGreen, rollingUpdate) come from the one registry stores and the API use; this maps the settings.
        StrategySpec? spec = (StrategySpecRegistry.TryGet(type, out var registered) ? registered.Name : null) switch
        {
            RecreateStrategySpec.StrategyName => new RecreateStrategySpec(),
            RollingStrategySpec.StrategyName => c is null ? new RollingStrategySpec() : MapRolling(c),
            CanaryStrategySpec.StrategyName => c is null ? new CanaryStrategySpec() : MapCanary(c),
            BlueGreenStrategySpec.StrategyName => c is null ? new BlueGreenStrategySpec() : MapBlueGreen(c),
            _ => null,
        };
        if (spec is null)
        {
            parent.Error("strategy.type", $"'{type}' is not a strategy; use {StrategySpecRegistry.DescribeNames()}.");
        }

        c?.RejectUnknown();
        return spec;
    }

    private static RollingStrategySpec MapRolling(ConfigObject c)
    {
        var d = new RollingStrategySpec();
        return new RollingStrategySpec
        {
            MaxSurge = IntOrPercentField(c, "maxSurge") ?? d.MaxSurge,
            MaxUnavailable = IntOrPercentField(c, "maxUnavailable") ?? d.MaxUnavailable,
            BatchSize = c.Int("batchSize", 1),
            PauseBetweenBatches = c.Duration("pauseBetweenBatches") ?? d.PauseBetweenBatches,
        };
    }

    private static IntOrPercent? IntOrPercentField(ConfigObject c, string name)
    {
        var text = c.Text(name);
        if (text is null)
        {
            return null;
        }

        try
        {
            return IntOrPercent.Parse(text);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or OrchestrationException)
        {
            c.Error(name, $"'{text}' must be a count (2) or a percentage (25%).");
            return null;
        }
    }

    private static CanaryStrategySpec MapCanary(ConfigObject c)
    {
        var d = new CanaryStrategySpec();
        var steps = new List<CanaryStep>();
        foreach (var (node, path) in c.List("steps") ?? [])
        {
            if (node is not JsonObject step || step.Count != 1)
            {
                c.Errors.Add($"{path}: must be one of setWeight: N, pause: 30s (or pause: {{}} to wait for promote), analysis: {{…}}, approval: {{…}}.");
                continue;
            }

            var o = new ConfigObject(step, path, c.Errors);
            var kind = step.First().Key;
            switch (kind)
            {
                case "setWeight":
                    if (o.Int("setWeight", 0, 100) is { } weight)
                    {
                        steps.Add(new CanaryStep.SetWeight(weight));
                    }

                    break;
                case "pause":
                    var raw = o.Raw("pause");
                    if (raw is null || raw is JsonObject { Count: 0 })
                    {
                        steps.Add(new CanaryStep.Pause(null));
                    }
                    else if (o.Duration("pause") is { } duration)
                    {
                        steps.Add(new CanaryStep.Pause(duration));
                    }

                    break;
                case "analysis":
                    if (o.Object("analysis", required: true) is { } analysis && MapAnalysis(analysis) is { } a)
                    {
                        steps.Add(new CanaryStep.Analyze(a));
                    }

                    break;
                case "approval":
                    if (o.Object("approval", required: true) is { } gate && MapGate(gate) is { } g)
                    {
                        steps.Add(new CanaryStep.Approval(g));
                    }

                    break;
                default:
                    c.Errors.Add($"{path}: '{kind}' is not a canary step; use setWeight, pause, analysis or approval.");
                    break;
            }
        }

        return new CanaryStrategySpec
        {
            Steps = steps,
            StepWeight = c.Int("stepWeight"),
            MaxWeight = c.Int("maxWeight") ?? d.MaxWeight,
            Interval = c.Duration("interval") ?? d.Interval,
            Analysis = c.Object("analysis") is { } shared ? MapAnalysis(shared) : null,
            AnalysisComponent = c.String("analysisComponent"),
        };
    }

    private static BlueGreenStrategySpec MapBlueGreen(ConfigObject c)
    {
        var d = new BlueGreenStrategySpec();
        return new BlueGreenStrategySpec
        {
            PreviewReplicas = c.Int("previewReplicas", 0),
            PreviewRoute = c.Bool("previewRoute") ?? d.PreviewRoute,
            PrePromotionAnalysis = c.Object("prePromotionAnalysis") is { } pre ? MapAnalysis(pre) : null,
            PostPromotionAnalysis = c.Object("postPromotionAnalysis") is { } post ? MapAnalysis(post) : null,
            Promotion = c.Enum<BlueGreenPromotion>("promotion") ?? d.Promotion,
            AutoPromotionDelay = c.Duration("autoPromotionDelay") ?? d.AutoPromotionDelay,
            ScaleDownDelay = c.Duration("scaleDownDelay") ?? d.ScaleDownDelay,
            AnalysisComponent = c.String("analysisComponent"),
        };
    }

    /// <summary>
    /// <c>{ name, metrics: [ { name, metric: successRate|latencyP50|latencyP95|latencyP99, revision, requests, path,
    /// count, interval, initialDelay, successCondition: {min, max}, failureCondition, failureLimit } ] }</c>, or a
    /// Prometheus (<c>prometheus: {address, query}</c>) or JSON (<c>json: {url, jsonPath}</c>) metric.
    /// </summary>
    private static AnalysisSpec? MapAnalysis(ConfigObject c)
    {
        var metrics = new List<MetricSpec>();
        foreach (var (node, path) in c.List("metrics") ?? [])
        {
            if (node is not JsonObject metricObject)
            {
                c.Errors.Add($"{path}: must be an object with name and metric, not {ConfigObject.Describe(node)}.");
                continue;
            }

            var m = new ConfigObject(metricObject, path, c.Errors);
            var metricName = m.String("name", required: true);
            MetricQuery? query = null;
            if (m.Has("prometheus"))
            {
                var p = m.Object("prometheus")!;
                var address = p.String("address", required: true);
                var promQuery = p.String("query", required: true);
                p.RejectUnknown();
                if (address is not null && promQuery is not null)
                {
                    query = Uri.TryCreate(address, UriKind.Absolute, out var uri) ? new PrometheusMetricQuery(uri, promQuery) : null;
                    if (query is null)
                    {
                        p.Error("address", $"'{address}' is not an absolute URL.");
                    }
                }
            }
            else if (m.Has("json"))
            {
                var j = m.Object("json")!;
                var url = j.String("url", required: true);
                var jsonPath = j.String("jsonPath", required: true);
                j.RejectUnknown();
                if (url is not null && jsonPath is not null)
                {
                    query = Uri.TryCreate(url, UriKind.Absolute, out var uri) ? new JsonMetricQuery(uri, jsonPath) : null;
                    if (query is null)
                    {
                        j.Error("url", $"'{url}' is not an absolute URL.");
                    }
                }
            }
            else
            {
                var builtIn = m.Enum<BuiltInMetric>("metric", required: true);
                var revision = m.Enum<AnalysisRevision>("revision");
                var requests = m.Int("requests", 1);
                var requestPath = m.String("path");
                if (builtIn is { } b)
                {
                    var defaults = new BuiltInMetricQuery(b);
                    query = new BuiltInMetricQuery(b) { Revision = revision ?? defaults.Revision, Requests = requests ?? defaults.Requests, Path = requestPath ?? defaults.Path };
                }
            }

            var d = new MetricSpec { Name = "-", Query = new BuiltInMetricQuery(BuiltInMetric.SuccessRate) };
            var count = m.Int("count", 1);
            var interval = m.Duration("interval");
            var initialDelay = m.Duration("initialDelay");
            var success = m.Object("successCondition") is { } s ? MapCondition(s) : null;
            var failure = m.Object("failureCondition") is { } f ? MapCondition(f) : null;
            var failureLimit = m.Int("failureLimit", 0);
            var inconclusiveLimit = m.Int("inconclusiveLimit", 0);
            var consecutiveErrorLimit = m.Int("consecutiveErrorLimit", 0);
            m.RejectUnknown();
            if (metricName is not null && query is not null)
            {
                metrics.Add(new MetricSpec
                {
                    Name = metricName,
                    Query = query,
                    Count = count ?? d.Count,
                    Interval = interval ?? d.Interval,
                    InitialDelay = initialDelay ?? d.InitialDelay,
                    SuccessCondition = success,
                    FailureCondition = failure,
                    FailureLimit = failureLimit ?? d.FailureLimit,
                    InconclusiveLimit = inconclusiveLimit ?? d.InconclusiveLimit,
                    ConsecutiveErrorLimit = consecutiveErrorLimit ?? d.ConsecutiveErrorLimit,
                });
            }
        }

        var name = c.String("name");
        c.RejectUnknown();
        return new AnalysisSpec { Name = name ?? "analysis", Metrics = metrics };
    }

    private static MetricCondition? MapCondition(ConfigObject c)
    {
        var min = c.Number("min");
        var max = c.Number("max");
        c.RejectUnknown();
        return new MetricCondition(min, max);
    }

    private static ApprovalGate? MapGate(ConfigObject c)
    {
        var d = new ApprovalGate { Name = "-" };
        var name = c.String("name", required: true);
        var gate = new ApprovalGate
        {
            Name = name ?? "-",
            RequiredApprovals = c.Int("requiredApprovals", 1) ?? d.RequiredApprovals,
            ApproverMustDifferFromRequester = c.Bool("approverMustDifferFromRequester") ?? d.ApproverMustDifferFromRequester,
            Timeout = c.Duration("timeout"),
            Escalation = c.Enum<GateEscalation>("escalation") ?? d.Escalation,
        };
        c.RejectUnknown();
        return name is null ? null : gate;
    }

    /// <summary>Formats a duration the way the config accepts it (for messages).</summary>
    public static string FormatDuration(TimeSpan duration) => duration.TotalSeconds < 1
        ? string.Create(CultureInfo.InvariantCulture, $"{duration.TotalMilliseconds:0}ms")
        : string.Create(CultureInfo.InvariantCulture, $"{duration.TotalSeconds:0.###}s");
}
