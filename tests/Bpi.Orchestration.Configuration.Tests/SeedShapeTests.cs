namespace Bpi.Orchestration.Configuration.Tests;

/// <summary>The seed's deploy body (snake_case) is read by the same reader, and refused by its own field names.</summary>
public sealed class SeedShapeTests
{
    public const string SeedBody = """
        {
          "deployment_type": "docklock_container",
          "config": { "deployment_name": "payments" },
          "resource_requirements": { "cpu_cores": 2, "memory_mb": 1024 },
          "security_config": { "encryption_level": "high", "access_control": "rbac" },
          "app_id": "payments-app"
        }
        """;

    [Fact]
    public void The_seeds_body_as_written_is_refused_naming_only_the_missing_image_or_command_by_its_own_fields()
    {
        var ex = Assert.Throws<OrchestrationException>(() => DeploymentDocument.Parse(SeedBody, DeploymentDocumentFormat.Json, "body"));

        var problem = Assert.Single(ex.Errors);
        Assert.StartsWith("config.image or config.command: is required", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void The_seeds_body_with_an_image_maps_every_field()
    {
        var spec = DeploymentDocument.Parse(SeedBody.Replace("\"deployment_name\": \"payments\"", "\"deployment_name\": \"payments\", \"image\": \"payments:1.0\", \"replicas\": 3, \"ports\": [8080]", StringComparison.Ordinal), DeploymentDocumentFormat.Json, "body");

        Assert.Equal(("payments", "payments-app", DeploymentType.DockLockContainer), (spec.Name, spec.AppId, spec.Type));
        var component = Assert.Single(spec.Components);
        Assert.Equal(("payments:1.0", 3, 8080), (component.Image, component.Replicas, component.Ports[0].ContainerPort));
        Assert.Equal((2.0, 1024L), (spec.Infrastructure.Resources!.CpuCores, spec.Infrastructure.Resources.MemoryMb));
        Assert.Equal((EncryptionLevel.High, AccessControlModel.RoleBased), (spec.Infrastructure.Security.EncryptionLevel, spec.Infrastructure.Security.AccessControl.Model));
    }

    [Fact]
    public void Problems_in_a_seed_body_are_named_by_the_seeds_fields()
    {
        const string body = """{ "deployment_type": "teleport", "config": { "deployment_name": "Pay_1", "image": "p:1", "replicas": -2, "colour": "red" }, "app_id": "pay" }""";

        var ex = Assert.Throws<OrchestrationException>(() => DeploymentDocument.Parse(body, DeploymentDocumentFormat.Json, "body"));

        Assert.Contains(ex.Errors, e => e.StartsWith("deployment_type: 'teleport' is not one of", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("config.replicas: -2 must be at least 0.", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("config.colour: unknown field", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("config.deployment_name: 'Pay_1' must be", StringComparison.Ordinal));
        Assert.True(ex.Errors.Count == 4, string.Join("\n", ex.Errors));
    }
}
