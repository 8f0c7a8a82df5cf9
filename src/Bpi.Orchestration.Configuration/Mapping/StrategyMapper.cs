using System.Text.Json.Nodes;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.BlueGreen;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Strategies.Hooks;
using Bpi.Orchestration.Strategies.Rolling;

namespace Bpi.Orchestration.Configuration;

/// <summary>Maps the <c>strategy</c> section: every strategy by its registered name, with its steps and hooks.</summary>
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
                c.Error("type", $"is required when strategy has settings: {StrategySpecRegistry.DescribeNames()}.");
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
            Hooks = MapHooks(c),
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
                steps.Add(UnreadableStep);
                continue;
            }

            var o = new ConfigObject(step, path, c.Errors);
            var kind = step.First().Key;
            var count = steps.Count;
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
                    if (o.Object("analysis", required: true) is { } analysis && AnalysisMapper.MapAnalysis(analysis) is { } a)
                    {
                        steps.Add(new CanaryStep.Analyze(a));
                    }

                    break;
                case "approval":
                    if (o.Object("approval", required: true) is { } gate && AnalysisMapper.MapGate(gate) is { } g)
                    {
                        steps.Add(new CanaryStep.Approval(g));
                    }

                    break;
                default:
                    c.Errors.Add($"{path}: '{kind}' is not a canary step; use setWeight, pause, analysis or approval.");
                    break;
            }

            if (steps.Count == count)
            {
                steps.Add(UnreadableStep);
            }
        }

        return new CanaryStrategySpec
        {
            Steps = steps,
            StepWeight = c.Int("stepWeight"),
            MaxWeight = c.Int("maxWeight") ?? d.MaxWeight,
            Interval = c.Duration("interval") ?? d.Interval,
            Analysis = c.Object("analysis") is { } shared ? AnalysisMapper.MapAnalysis(shared) : null,
            AnalysisComponent = c.String("analysisComponent"),
            Hooks = MapHooks(c),
        };
    }

    private static BlueGreenStrategySpec MapBlueGreen(ConfigObject c)
    {
        var d = new BlueGreenStrategySpec();
        return new BlueGreenStrategySpec
        {
            PreviewReplicas = c.Int("previewReplicas", 0),
            PreviewRoute = c.Bool("previewRoute") ?? d.PreviewRoute,
            PrePromotionAnalysis = c.Object("prePromotionAnalysis") is { } pre ? AnalysisMapper.MapAnalysis(pre) : null,
            PostPromotionAnalysis = c.Object("postPromotionAnalysis") is { } post ? AnalysisMapper.MapAnalysis(post) : null,
            Promotion = c.Enum<BlueGreenPromotion>("promotion") ?? d.Promotion,
            AutoPromotionDelay = c.Duration("autoPromotionDelay") ?? d.AutoPromotionDelay,
            ScaleDownDelay = c.Duration("scaleDownDelay") ?? d.ScaleDownDelay,
            TrafficSteps = MapTrafficSteps(c),
            AnalysisComponent = c.String("analysisComponent"),
            Hooks = MapHooks(c),
        };
    }

    /// <summary>
    /// A canary step that was written but could not be read keeps its place (so the spec's checks name the steps after
    /// it by their own index) as a step that asks nothing: a pause until promoted. The document is refused anyway.
    /// </summary>
    private static readonly CanaryStep UnreadableStep = new CanaryStep.Pause(null);

    /// <summary><c>trafficSteps: [ { weight: 25, duration: 30s, analysis: {…} }, … ]</c> of a blue-green rollout.</summary>
    private static List<TrafficSwitchStep> MapTrafficSteps(ConfigObject c)
    {
        var steps = new List<TrafficSwitchStep>();
        foreach (var (node, path) in c.List("trafficSteps") ?? [])
        {
            if (node is not JsonObject stepObject)
            {
                c.Errors.Add($"{path}: must be an object with weight (and duration, analysis), not {ConfigObject.Describe(node)}.");
                continue;
            }

            var s = new ConfigObject(stepObject, path, c.Errors);
            var weight = s.Int("weight", 1, 100);
            if (weight is null && !s.Has("weight"))
            {
                s.Error("weight", "is required.");
            }

            var duration = s.Duration("duration");
            var analysis = s.Object("analysis") is { } a ? AnalysisMapper.MapAnalysis(a) : null;
            s.RejectUnknown();
            if (weight is { } w)
            {
                steps.Add(new TrafficSwitchStep(w) { Duration = duration ?? TimeSpan.Zero, Analysis = analysis });
            }
        }

        return steps;
    }

    /// <summary><c>hooks: { preRollout: [ { name, url, timeout, failOnError } ], postRollout: […], onAbort: […] }</c>.</summary>
    private static RolloutHooks MapHooks(ConfigObject c)
    {
        if (c.Object("hooks") is not { } h)
        {
            return new RolloutHooks();
        }

        var hooks = new RolloutHooks
        {
            PreRollout = MapHookList(h, "preRollout"),
            PostRollout = MapHookList(h, "postRollout"),
            OnAbort = MapHookList(h, "onAbort"),
        };
        h.RejectUnknown();
        return hooks;
    }

    private static List<HookSpec> MapHookList(ConfigObject c, string field)
    {
        var hooks = new List<HookSpec>();
        foreach (var (node, path) in c.List(field) ?? [])
        {
            if (node is not JsonObject hookObject)
            {
                c.Errors.Add($"{path}: must be an object with name (and url, timeout, failOnError), not {ConfigObject.Describe(node)}.");
                continue;
            }

            var o = new ConfigObject(hookObject, path, c.Errors);
            var d = new HookSpec { Name = "-" };
            var name = o.String("name", required: true);
            var hook = new HookSpec
            {
                Name = name ?? "-",
                Url = o.Url("url"),
                Timeout = o.Duration("timeout") ?? d.Timeout,
                FailOnError = o.Bool("failOnError"),
            };
            o.RejectUnknown();
            if (name is not null)
            {
                hooks.Add(hook);
            }
        }

        return hooks;
    }
}
