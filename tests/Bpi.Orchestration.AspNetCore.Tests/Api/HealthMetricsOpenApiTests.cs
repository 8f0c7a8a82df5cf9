using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.AspNetCore.Tests.Api;

public sealed class HealthMetricsOpenApiTests
{
    private static Task<ApiHost> StartAsync() => ApiHost.StartAsync(
        map: app =>
        {
            app.MapOrchestrationApi();
            app.MapOrchestrationHealthChecks();
            app.MapOpenApi();
        },
        build: b => b.Services.AddOpenApi());

    [Fact]
    public async Task Health_endpoints_answer_with_the_seeds_fields()
    {
        await using var host = await StartAsync();
        using var client = host.Deployer();
        var id = await client.DeployAsync(Documents.Simple(replicas: 2));
        await host.Vm.WaitForStateAsync(id, s => s.IsSettled(), TestContext.Timeout);

        var orchestration = await client.GetFromJsonObjectAsync("/health/orchestration");
        var containers = await client.GetFromJsonObjectAsync("/health/containers");

        Assert.Equal("healthy", orchestration["status"]!.GetValue<string>());
        Assert.Equal(1, orchestration["active_deployments"]!.GetValue<int>());
        Assert.Equal("api-tests", orchestration["vm_id"]!.GetValue<string>());
        Assert.Equal(2, containers["running_containers"]!.GetValue<int>());
        Assert.Equal(2, containers["total_containers"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("bpi_orchestration_deployments_active")]
    [InlineData("bpi_orchestration_deployment_duration_seconds")]
    [InlineData("bpi_security_scans_completed_total")]
    public async Task Metrics_carry_the_seeds_metric_name(string name)
    {
        await using var host = await StartAsync();
        using var client = host.Deployer();
        var id = await client.DeployAsync(Documents.Simple());
        await host.Vm.WaitForStateAsync(id, s => s.IsSettled(), TestContext.Timeout);
        using (var scan = await client.PostAsync("/api/v1/security/scan", Documents.Json(Documents.Simple())))
        {
            Assert.Equal(HttpStatusCode.OK, scan.StatusCode);
        }

        var text = await client.GetStringAsync("/metrics");

        Assert.Contains(text.Split('\n'), line => line.StartsWith(name, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_the_seeds_endpoints()
    {
        await using var host = await StartAsync();
        using var client = host.Deployer();

        var document = await client.GetFromJsonObjectAsync("/openapi/v1.json");

        var paths = document["paths"]!.AsObject().Select(p => p.Key).ToList();
        foreach (var path in new[] { "/api/v1/orchestration/deploy", "/api/v1/orchestration/deployment/{id}", "/api/v1/orchestration/deployments", "/api/v1/security/scan", "/api/v1/security/assessment/{id}", "/api/v1/orchestration/deployment/{id}/events", "/api/v1/audit/verify" })
        {
            Assert.Contains(path, paths);
        }

        Assert.NotNull(document["paths"]!["/api/v1/orchestration/deploy"]!["post"]!["responses"]!["202"]);
    }
}
