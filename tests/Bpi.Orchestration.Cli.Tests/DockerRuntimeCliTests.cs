using System.Text.Json;
using Bpi.Orchestration.Components.Docker;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Cli.Tests;

/// <summary>
/// The CLI on containers, one process per command over one state directory: a compose file deployed on Docker, an
/// update with a canary from a config naming an image, a rollback, a destroy — and nothing of the deployment left on
/// the engine. Each later command finds the runtime in the state directory's runtime.json (no --runtime given).
/// </summary>
public sealed class DockerRuntimeCliTests : IDisposable
{
    private readonly CliSandbox _cli = new();

    public void Dispose() => _cli.Dispose();

    [SkippableFact]
    public async Task A_compose_deployment_is_updated_with_a_canary_rolled_back_and_destroyed_on_docker_leaving_nothing()
    {
        await DockerTestEnvironment.RequireEngineAsync();
        DockerTestEnvironment.RequirePrerequisite(TestImages.MissingPrerequisite);
        await BuildTestImagesAsync();
        using var engine = DockerDemoTests.DockerApi.Create();

        var project = Directory.CreateDirectory(_cli.Dir("shop")).FullName;
        File.WriteAllText(Path.Combine(project, ".env"), "APP_VERSION=v1\n");
        var compose = Path.Combine(project, "docker-compose.yml");
        File.WriteAllText(compose, $$"""
            name: shop
            services:
              web:
                image: {{TestImages.Plain}}
                environment: { APP_VERSION: "${APP_VERSION}" }
                ports: ["{{TestImages.HttpPort}}"]
                healthcheck:
                  test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:{{TestImages.HttpPort}}/health"]
                  interval: 1s
                  timeout: 1s
                deploy:
                  replicas: 2
                  resources: { limits: { cpus: "0.1", memory: 32M } }
                depends_on:
                  cache: { condition: service_started }
              cache:
                image: {{TestImages.Plain}}
                command: ["/bin/httpd", "-f", "-p", "6379", "-h", "/www"]
                deploy: { resources: { limits: { cpus: "0.1", memory: 32M } } }
            """);
        var canary = _cli.WriteFile("shop-v2.yaml", $$"""
            runtime: docker
            name: shop
            appId: shop
            components:
              - id: cache
                image: {{TestImages.Plain}}
                command: { fileName: /bin/httpd, arguments: ["-f", "-p", "6379", "-h", "/www"] }
                resources: { cpuCores: 0.1, memoryMb: 32 }
              - id: web
                image: {{TestImages.Plain}}
                replicas: 2
                ports: [{{TestImages.HttpPort}}]
                environment: { APP_VERSION: v2 }
                resources: { cpuCores: 0.1, memoryMb: 32 }
                dependsOn: [cache]
                healthCheck: { path: /health, period: 1s, timeout: 1s }
            strategy: { type: canary, steps: [{ setWeight: 50 }, { pause: 1s }] }
            validation: { pollInterval: 200ms, progressDeadline: 90s }
            """);

        string? id = null;
        try
        {
            var deploy = await _cli.RunAsync("deploy", "--compose", compose, "-o", "json");
            Assert.True(deploy.ExitCode == ExitCodes.Success, deploy.ToString());
            id = deploy.Json.GetProperty("id").GetString()!;
            Assert.Equal("Running", deploy.Json.GetProperty("state").GetString());
            Assert.Contains("\"runtime\": \"docker\"", File.ReadAllText(Path.Combine(_cli.StateDir, "runtime.json")), StringComparison.Ordinal);
            Assert.Equal(3, await ContainersAsync(engine, id));

            var update = await _cli.RunAsync("update", "-d", id, "--config", canary, "-o", "json");
            Assert.True(update.ExitCode == ExitCodes.Success, update.ToString());
            Assert.Equal(2, update.Json.GetProperty("stableRevision").GetInt32());

            // A fresh process without --runtime reads the instances from the engine.
            var status = await _cli.RunAsync("status", "-d", id, "-o", "json");
            Assert.True(status.ExitCode == ExitCodes.Success, status.ToString());
            Assert.Equal(("Running", 2), (status.Json.GetProperty("state").GetString(), status.Json.GetProperty("stableRevision").GetInt32()));

            var rollback = await _cli.RunAsync("rollback", "-d", id, "--to-revision", "1", "-o", "json");
            Assert.True(rollback.ExitCode == ExitCodes.Success, rollback.ToString());
            Assert.Equal(3, rollback.Json.GetProperty("stableRevision").GetInt32());

            var list = await _cli.RunAsync("list-deployments", "-o", "json");
            Assert.True(list.ExitCode == ExitCodes.Success, list.ToString());

            var mixed = await _cli.RunAsync("status", "-d", id, "--runtime", "process");
            Assert.True(mixed.ExitCode == ExitCodes.UsageError, mixed.ToString());

            var destroy = await _cli.RunAsync("destroy", "-d", id, "-o", "json");
            Assert.True(destroy.ExitCode == ExitCodes.Success, destroy.ToString());
            Assert.Equal(0, await ContainersAsync(engine, id));
            Assert.Equal(0, await CountAsync(engine, "/networks", id));
            id = null;
        }
        finally
        {
            if (id is not null)
            {
                await _cli.RunAsync("destroy", "-d", id, "--force");
            }
        }
    }

    [Fact]
    public async Task A_compose_file_with_keys_that_cannot_be_honoured_is_refused_with_every_path_unless_lenient()
    {
        var compose = _cli.WriteFile("docker-compose.yml", """
            name: refused
            services:
              web: { image: "w:1", build: ., ports: ["8080:80"], privileged: true }
            """);

        var refused = await _cli.RunAsync("deploy", "--compose", compose, "--state-dir", _cli.StateDir, "-o", "json");

        Assert.True(refused.ExitCode == ExitCodes.InvalidConfig, refused.ToString());
        var errors = refused.Json.GetProperty("problems").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Contains(errors, e => e.StartsWith("services.web.build: ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("services.web.ports[0]: ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("services.web.privileged: ", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(_cli.StateDir, "runtime.json")));
    }

    private static async Task<int> ContainersAsync(DockerDemoTests.DockerApi engine, string deploymentId) => await CountAsync(engine, "/containers/json?all=1", deploymentId);

    private static async Task<int> CountAsync(DockerDemoTests.DockerApi engine, string path, string deploymentId)
    {
        var filter = Uri.EscapeDataString(JsonSerializer.Serialize(new Dictionary<string, string[]> { ["label"] = [$"bpi.orchestration/deployment={deploymentId}"] }));
        return (await engine.GetAsync($"{path}{(path.Contains('?', StringComparison.Ordinal) ? "&" : "?")}filters={filter}")).GetArrayLength();
    }

    /// <summary>Imports the test images (<see cref="TestImages"/>) through the Docker runtime's importer.</summary>
    internal static async Task BuildTestImagesAsync()
    {
        var services = new ServiceCollection();
        services.AddOrchestration().AddDocker();
        await using var provider = services.BuildServiceProvider();
        var importer = provider.GetRequiredService<IDockerImageImporter>();
        await TestImages.BuildAsync(async (tar, repository, tag, changes) => await importer.ImportImageAsync(tar, repository, tag, changes));
    }
}
