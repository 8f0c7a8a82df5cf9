using Bpi.Orchestration.Strategies.Analysis;

namespace Bpi.Orchestration.Configuration.Tests;

public sealed class AutoscalingDocumentTests
{
    [Fact]
    public void A_components_autoscaling_is_read_with_its_defaults()
    {
        const string yaml = """
            name: shop
            appId: shop
            components:
              - id: web
                image: web:1
                replicas: 2
                autoscaling: { minReplicas: 2, maxReplicas: 8, targetCpuUtilizationPercent: 60 }
              - id: api
                image: api:1
                autoscaling: { maxReplicas: 4 }
            """;

        var spec = DeploymentDocument.Parse(yaml, DeploymentDocumentFormat.Yaml, "shop.yaml");

        Assert.Equal(new AutoscalingSpec { MinReplicas = 2, MaxReplicas = 8, TargetCpuUtilizationPercent = 60 }, spec.Components[0].Autoscaling);
        Assert.Equal(new AutoscalingSpec { MinReplicas = 1, MaxReplicas = 4 }, spec.Components[1].Autoscaling);
        Assert.Equal(80, spec.Components[1].Autoscaling!.EffectiveCpuUtilizationPercent);
    }

    [Fact]
    public void Memory_targets_tolerance_and_scaling_rules_are_read_and_left_out_parts_keep_their_defaults()
    {
        const string yaml = """
            name: shop
            appId: shop
            components:
              - id: web
                image: web:1
                autoscaling:
                  maxReplicas: 10
                  targetMemoryUtilizationPercent: 75
                  tolerance: 0.2
                  scaleUp: { policies: [{ type: pods, value: 1, period: 30s }] }
                  scaleDown: { stabilizationWindow: 1m, selectPolicy: min }
            """;

        var a = DeploymentDocument.Parse(yaml, DeploymentDocumentFormat.Yaml, "shop.yaml").Components[0].Autoscaling!;

        Assert.Null(a.TargetCpuUtilizationPercent);
        Assert.Null(a.EffectiveCpuUtilizationPercent);
        Assert.Equal(75, a.TargetMemoryUtilizationPercent);
        Assert.Equal(0.2, a.Tolerance);
        Assert.Equal(AutoscalingRules.DefaultScaleUp with { Policies = [new AutoscalingPolicy(AutoscalingPolicyType.Pods, 1, TimeSpan.FromSeconds(30))] }, a.ScaleUp);
        Assert.Equal(AutoscalingRules.DefaultScaleDown with { StabilizationWindow = TimeSpan.FromMinutes(1), SelectPolicy = AutoscalingSelectPolicy.Min }, a.ScaleDown);
    }

    /// <summary>Custom metrics: a Prometheus query per instance and a JSON endpoint's value (also checked against the JSON Schema).</summary>
    public const string CustomMetrics = """
        name: shop
        appId: shop
        components:
          - id: worker
            image: worker:1
            autoscaling:
              maxReplicas: 10
              targetCpuUtilizationPercent: 70
              metrics:
                - name: queue-depth
                  prometheus: { address: "http://prometheus:9090", query: "sum(queue_depth{app='shop'})", timeout: 5s }
                  targetAverageValue: 30
                - name: backlog
                  json: { url: "http://shop/stats", jsonPath: "$.backlog", headers: { Authorization: "Bearer t" }, timeout: 2s }
                  targetValue: 100
                - name: queue-total
                  prometheus: { address: "http://prometheus:9090", query: "sum(queue_depth)" }
                  targetValue: 300
                - name: sessions
                  json: { url: "http://shop/stats", jsonPath: "$.sessions" }
                  targetAverageValue: 50
                - name: p95
                  metric: latencyP95
                  revision: stable
                  requests: 20
                  path: /health
                  targetAverageValue: 0.2
                - name: success
                  metric: successRate
                  targetValue: 0.99
        """;

    [Fact]
    public void Custom_metrics_are_read_with_the_queries_an_analysis_uses()
    {
        var a = DeploymentDocument.Parse(CustomMetrics, DeploymentDocumentFormat.Yaml, "shop.yaml").Components[0].Autoscaling!;

        Assert.Equal(70, a.TargetCpuUtilizationPercent);
        Assert.Equal(6, a.Metrics.Count);
        Assert.Equal("queue-depth", a.Metrics[0].Name);
        var prometheus = Assert.IsType<PrometheusMetricQuery>(a.Metrics[0].Query);
        Assert.Equal(new Uri("http://prometheus:9090"), prometheus.Address);
        Assert.Equal("sum(queue_depth{app='shop'})", prometheus.Query);
        Assert.Equal(TimeSpan.FromSeconds(5), prometheus.Timeout);
        Assert.Equal(30, a.Metrics[0].TargetAverageValue);
        Assert.Null(a.Metrics[0].TargetValue);
        var json = Assert.IsType<JsonMetricQuery>(a.Metrics[1].Query);
        Assert.Equal("$.backlog", json.JsonPath);
        Assert.Equal(100, a.Metrics[1].TargetValue);
        Assert.Equal(TimeSpan.FromSeconds(2), json.Timeout);
        var builtIn = Assert.IsType<BuiltInMetricQuery>(a.Metrics[4].Query);
        Assert.Equal((BuiltInMetric.LatencyP95, AnalysisRevision.Stable, 20, "/health"), (builtIn.Metric, builtIn.Revision, builtIn.Requests, builtIn.Path));
        Assert.Equal(0.2, a.Metrics[4].TargetAverageValue);
    }

    public static TheoryData<string, string[]> RefusedDocuments => new()
    {
        {
            // Custom metrics: not an object, no query, no name, an unknown field, two targets.
            """
            name: shop
            appId: shop
            components:
              - id: worker
                image: worker:1
                autoscaling:
                  maxReplicas: 3
                  metrics:
                    - 5
                    - { name: depth, targetValue: 1 }
                    - { prometheus: { address: "http://p:9090", query: up }, targetValue: 1 }
                    - { name: lag, metric: latency_p50, targetValue: 1, target: 2 }
                    - { name: both, metric: latency_p50, targetValue: 1, targetAverageValue: 2 }
            """,
            [
                "autoscaling.metrics[0]: must be an object with name, a query (prometheus, json or metric)",
                "autoscaling.metrics[1].metric: is required.",
                "autoscaling.metrics[2].name: is required.",
                "autoscaling.metrics[3].target: unknown",
                "set exactly one of targetAverageValue",
            ]
        },
        {
            // Bad scaling rules.
            """
            name: shop
            appId: shop
            components:
              - id: web
                image: web:1
                autoscaling:
                  maxReplicas: 3
                  scaleUp: { selectPolicy: fastest, policies: [{ type: nodes, value: 1, period: 15s }, { type: pods }, 5], extra: 1 }
                  scaleDown: { stabilizationWindow: 2h }
            """,
            [
                "autoscaling.scaleUp.selectPolicy: 'fastest' is not one of max, min, disabled.",
                "autoscaling.scaleUp.policies[0].type: 'nodes' is not one of pods, percent.",
                "autoscaling.scaleUp.policies[1].value: is required.",
                "autoscaling.scaleUp.policies[1].period: is required.",
                "autoscaling.scaleUp.policies[2]: must be an object with type, value and period, not",
                "extra",
                "autoscaling.scaleDown.stabilizationWindow: 02:00:00 is out of range; use 0 to 1 hour.",
            ]
        },
        {
            // No maximum, an unknown field, replicas outside the range.
            """
            name: shop
            appId: shop
            components:
              - id: web
                image: web:1
                autoscaling: { minReplicas: 1, targetMemory: 80 }
              - id: api
                image: api:1
                replicas: 5
                autoscaling: { minReplicas: 1, maxReplicas: 3 }
            """,
            [
                "autoscaling.maxReplicas: is required.",
                "targetMemory",
                "replicas (5) is outside minReplicas..maxReplicas (1..3)",
            ]
        },
    };

    [Theory]
    [MemberData(nameof(RefusedDocuments))]
    public void Bad_autoscaling_is_refused_with_every_problem(string yaml, string[] expected)
    {
        var ex = Assert.Throws<OrchestrationException>(() => DeploymentDocument.Parse(yaml, DeploymentDocumentFormat.Yaml, "shop.yaml"));

        Assert.All(expected, problem => Assert.Contains(ex.Errors, e => e.Contains(problem, StringComparison.Ordinal)));
    }
}
