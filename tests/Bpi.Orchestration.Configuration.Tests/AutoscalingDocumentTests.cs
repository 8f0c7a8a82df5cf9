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
        Assert.Equal(new AutoscalingSpec { MinReplicas = 1, MaxReplicas = 4, TargetCpuUtilizationPercent = 80 }, spec.Components[1].Autoscaling);
    }

    [Fact]
    public void Autoscaling_without_a_maximum_or_with_unknown_fields_is_refused_with_every_problem()
    {
        const string yaml = """
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
            """;

        var ex = Assert.Throws<OrchestrationException>(() => DeploymentDocument.Parse(yaml, DeploymentDocumentFormat.Yaml, "shop.yaml"));

        Assert.Contains(ex.Errors, e => e.Contains("autoscaling.maxReplicas: is required.", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("targetMemory", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("replicas (5) is outside minReplicas..maxReplicas (1..3)", StringComparison.Ordinal));
    }
}
