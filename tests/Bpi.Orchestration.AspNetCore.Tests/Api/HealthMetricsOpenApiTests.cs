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

    [Fact]
    public async Task The_orchestration_health_is_degraded_and_names_the_breaker_while_the_runtime_circuit_is_open()
    {
        await using var host = await ApiHost.StartAsync(
            configure: b => b.Services.Configure<OrchestrationOptions>(o =>
            {
                o.CircuitBreaking.MinimumThroughput = 2;
                o.CircuitBreaking.BreakDuration = TimeSpan.FromHours(1);
            }),
            map: app =>
            {
                app.MapOrchestrationApi();
                app.MapOrchestrationHealthChecks();
            });
        using var client = host.Deployer();
        var runtime = host.Services.GetRequiredService<Bpi.Orchestration.Testing.InMemoryWorkloadRuntime>();
        var id = await client.DeployAsync(Documents.Simple(replicas: 1));
        await host.Vm.WaitForStateAsync(id, s => s.IsSettled(), TestContext.Timeout);
        var healthy = await client.GetFromJsonObjectAsync("/health/orchestration");
        runtime.Faults.FailNextCalls(1_000_000);

        await Eventually.UntilAsync(
            () => host.Vm.GetStatusAsync(id),
            s => s.RuntimeError?.Contains("circuit breaker", StringComparison.Ordinal) == true,
            "the runtime's circuit opens");
        using var response = await client.GetAsync(new Uri("/health/orchestration", UriKind.Relative));
        var degraded = await response.ReadObjectAsync();

        Assert.Equal("healthy", healthy["status"]!.GetValue<string>());
        Assert.Equal("degraded", degraded["status"]!.GetValue<string>());
        Assert.Contains("runtime:in-memory", degraded["description"]!.GetValue<string>(), StringComparison.Ordinal);
        var breaker = degraded["circuit_breakers"]!.AsArray().Single(b => b!["target"]!.GetValue<string>() == "runtime:in-memory")!;
        Assert.Equal("open", breaker["state"]!.GetValue<string>());
        Assert.Equal(1, breaker["times_opened"]!.GetValue<int>());
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
