using System.Text.Json.Nodes;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.BlueGreen;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Strategies.Rolling;

namespace Bpi.Orchestration.Configuration;

/// <summary>Maps the <c>strategy</c> section (every strategy by its registered name), analyses and approval gates.</summary>
internal static class StrategyMapper
{
    /// <summary>The strategy section; <paramref name="overrideType"/> (<c>--strategy</c>) replaces its <c>type</c>.</summary>
    public static StrategySpec? MapStrategy(ConfigObject? c, string? overrideType, ConfigObject parent)
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
}
