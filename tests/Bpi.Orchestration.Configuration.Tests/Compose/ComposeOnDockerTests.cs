using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Configuration.Compose;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Configuration.Tests.Compose;

/// <summary>
/// Typical compose files, read by <see cref="ComposeDocument"/>, deployed on the real Docker Engine and destroyed with
/// nothing of theirs left on it (containers, networks and volumes of the test's owner id are counted afterwards).
/// </summary>
[Collection(ComposeEngineCollection.Name)]
public sealed class ComposeOnDockerTests(ComposeEngineFixture fixture)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private const string Limits = """{ resources: { limits: { cpus: "0.1", memory: 32M } } }""";

    [SkippableFact]
    public async Task A_web_database_and_cache_file_runs_with_services_reaching_each_other_by_name_and_is_destroyed_without_leftovers()
    {
        var yaml = $$"""
            name: ${STACK}
            services:
              web:
                image: {{TestImages.Plain}}
                environment:
                  APP_VERSION: ${WEB_VERSION:-v1}
                  DB_HOST: db
                ports: ["{{TestImages.HttpPort}}"]
                depends_on: [db, cache]
                deploy: { replicas: 2, resources: { limits: { cpus: "0.1", memory: 32M } } }
              db:
                image: {{TestImages.Plain}}
                command: ["/bin/httpd", "-f", "-p", "5432", "-h", "/www"]
                ports: ["5432"]
                volumes: ["db-data:/data"]
                deploy: {{Limits}}
              cache:
                image: {{TestImages.Plain}}
                command: /bin/httpd -f -p 6379 -h /www
                deploy: {{Limits}}
            volumes:
              db-data:
            """;
        var spec = ComposeDocument.Parse(yaml, new ComposeOptions { Environment = new Dictionary<string, string> { ["STACK"] = "shop", ["WEB_VERSION"] = "v7" } }).Spec;

        await DeployAndDestroyAsync(spec, async (services, id) =>
        {
            var runtime = services.GetRequiredService<IDockerWorkloadRuntime>();
            var instances = await runtime.GetInstancesAsync(id);
            var web = instances.Where(i => i.ComponentId == "web" && i.State == InstanceState.Running).ToList();
            Assert.Equal(2, web.Count);
            foreach (var instance in web)
            {
                Assert.Equal("version=v7", (await Http.GetStringAsync($"http://{instance.Endpoint}/cgi-bin/version")).Trim());
            }

            var reached = await runtime.ExecAsync(web[0], ["wget", "-q", "-O", "-", "http://db:5432/health"]);
            Assert.Equal(0, reached.ExitCode);
            Assert.Equal(0, (await runtime.ExecAsync(web[0], ["wget", "-q", "-O", "-", "http://cache:6379/health"])).ExitCode);
        });
    }

    [SkippableFact]
    public async Task A_service_gated_on_a_healthy_dependency_starts_after_the_dependency_passes_its_healthcheck()
    {
        var yaml = $$"""
            services:
              api:
                image: {{TestImages.Plain}}
                ports: ["{{TestImages.HttpPort}}"]
                depends_on:
                  db: { condition: service_healthy }
                deploy: {{Limits}}
              db:
                image: {{TestImages.Plain}}
                healthcheck:
                  test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
                  interval: 1s
                  timeout: 1s
                  retries: 3
                deploy: {{Limits}}
            """;
        var spec = ComposeDocument.Parse(yaml, new ComposeOptions { Name = "gated", Environment = new Dictionary<string, string>() }).Spec;
        Assert.Equal(["db", "api"], spec.Components.Select(c => c.Id));

        await DeployAndDestroyAsync(spec, async (services, id) =>
        {
            var instances = await services.GetRequiredService<IDockerWorkloadRuntime>().GetInstancesAsync(id);
            var db = Assert.Single(instances, i => i.ComponentId == "db");
            var api = Assert.Single(instances, i => i.ComponentId == "api");
            Assert.Equal(InstanceState.Running, db.State);
            Assert.Equal(InstanceState.Running, api.State);
            Assert.True(api.StartedAt >= db.StartedAt, $"api started {api.StartedAt:O}, before its dependency db ({db.StartedAt:O})");
        });
    }

    [SkippableFact]
    public async Task An_env_file_compose_file_read_leniently_runs_without_what_was_dropped()
    {
        using var directory = new TempDirectory();
        File.WriteAllText(Path.Combine(directory.Path, "app.env"), "APP_VERSION=from-env-file\n");
        var file = Path.Combine(directory.Path, "docker-compose.yml");
        File.WriteAllText(file, $$"""
            services:
              app:
                build: .
                image: {{TestImages.Plain}}
                env_file: app.env
                ports: ["18080:{{TestImages.HttpPort}}"]
                restart: on-failure:3
                deploy: {{Limits}}
              worker:
                image: {{TestImages.Plain}}
                entrypoint: ["/bin/sh", "-c"]
                command: ["echo started > /tmp/started && exec sleep 3600"]
                deploy: {{Limits}}
            """);

        var document = await ComposeDocument.LoadAsync(file, new ComposeOptions { Name = "lenient", Strict = false, Environment = new Dictionary<string, string>() });
        Assert.Equal(2, document.Warnings.Count);
        Assert.Contains(document.Warnings, w => w.StartsWith("dropped services.app.build: ", StringComparison.Ordinal));
        Assert.Contains(document.Warnings, w => w.StartsWith("dropped services.app.ports[0]: ", StringComparison.Ordinal));

        await DeployAndDestroyAsync(document.Spec, async (services, id) =>
        {
            var runtime = services.GetRequiredService<IDockerWorkloadRuntime>();
            var instances = await runtime.GetInstancesAsync(id);
            var app = Assert.Single(instances, i => i.ComponentId == "app");
            Assert.Equal("version=from-env-file", (await Http.GetStringAsync($"http://{app.Endpoint}/cgi-bin/version")).Trim());
            var worker = Assert.Single(instances, i => i.ComponentId == "worker");
            Assert.Equal(0, (await runtime.ExecAsync(worker, ["cat", "/tmp/started"])).ExitCode);
        });
    }

    /// <summary>Deploys, waits for Running, runs <paramref name="check"/>, destroys, and asserts the owner has nothing left on the engine.</summary>
    private async Task DeployAndDestroyAsync(DeploymentSpec spec, Func<IServiceProvider, string, Task> check)
    {
        await fixture.RequireEngineAsync();
        await using var services = await fixture.StartOrchestratorAsync();
        var vm = services.GetRequiredService<IOrchestrationVm>();
        var owner = services.GetRequiredService<IOptions<OrchestrationOptions>>().Value.VmId;
        var runtime = services.GetRequiredService<IDockerWorkloadRuntime>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var id = await vm.DeployAsync(spec, timeout.Token);
        try
        {
            var status = await vm.WaitUntilSettledAsync(id, timeout.Token);
            Assert.True(status.State == DeploymentState.Running, $"{status.State}: {status.Message}");
            await check(services, id);
        }
        finally
        {
            await vm.DestroyAsync(id, force: true, timeout.Token);
            await vm.WaitForStateAsync(id, s => s == DeploymentState.Destroyed, timeout.Token);
        }

        var left = await runtime.ListOwnedObjectsAsync(owner, timeout.Token);
        Assert.True(left.IsEmpty, $"left on the engine: {string.Join(", ", [.. left.Containers, .. left.Networks, .. left.Volumes])}");
        await vm.StopAsync(timeout.Token);
    }
}
