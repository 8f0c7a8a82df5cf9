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

    public static TheoryData<string, string[]> RefusedDocuments => new()
    {
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
