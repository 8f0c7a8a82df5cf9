namespace Bpi.Orchestration.Configuration.Tests;

/// <summary>A component's own <c>type</c> (HybridInfrastructure) in a config document, in any of the spellings the document's other enums take.</summary>
public sealed class ComponentTypeDocumentTests
{
    /// <summary>A hybrid document (also one of the schema test's accepted documents).</summary>
    internal const string Document = """
            name: shop
            appId: shop
            type: hybridInfrastructure
            components:
              - { id: api, type: httpCage, image: api:1, ports: [8080] }
              - { id: admin, type: cueNginx, image: admin:1, ports: [8081] }
              - { id: worker, type: dockLockContainer, image: worker:1 }
            """;

    [Theory]
    [InlineData(Document)]
    [InlineData("{ name: shop, appId: shop, type: hybrid_infrastructure, components: [{ id: api, type: http_cage, image: api:1, ports: [8080] }, { id: admin, type: cue-nginx, image: admin:1, ports: [8081] }, { id: worker, type: DockLockContainer, image: worker:1 }] }")]
    public void Each_component_s_type_is_read_into_the_spec(string document)
    {
        var spec = DeploymentDocument.Parse(document, DeploymentDocumentFormat.Yaml, "shop.yaml");

        Assert.Equal(DeploymentType.HybridInfrastructure, spec.Type);
        Assert.Equal([DeploymentType.HttpCage, DeploymentType.CueNginx, DeploymentType.DockLockContainer], spec.Components.Select(c => c.Type));
    }

    [Fact]
    public void A_component_without_a_type_takes_the_deployment_s()
    {
        var spec = DeploymentDocument.Parse("{ name: web, appId: shop, type: cueNginx, components: [{ id: web, image: web:1, ports: [80] }] }", DeploymentDocumentFormat.Yaml, "web.yaml");

        Assert.Null(spec.Components[0].Type);
        Assert.Equal(DeploymentType.CueNginx, spec.TypeOf(spec.Components[0]));
    }

    [Fact]
    public void Bad_component_types_are_refused_together()
    {
        const string yaml = """
            name: shop
            appId: shop
            type: hybridInfrastructure
            components:
              - { id: api, type: banana, image: api:1 }
              - { id: admin, image: admin:1 }
              - { id: cluster, type: enc_cluster, image: db:1 }
              - { id: mix, type: hybrid_infrastructure, image: db:1 }
            """;

        var ex = Assert.Throws<OrchestrationException>(() => DeploymentDocument.Parse(yaml, DeploymentDocumentFormat.Yaml, "shop.yaml"));

        Assert.Contains(ex.Errors, e => e.StartsWith("components[0].type: 'banana' is not one of dockLockContainer, encCluster, httpCage, cueNginx, hybridInfrastructure", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("components[1].type: is required in a HybridInfrastructure deployment", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("components[2].type: EncCluster cannot be one component of a HybridInfrastructure deployment", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("components[3].type: HybridInfrastructure mixes the types of several components", StringComparison.Ordinal));
    }
}
