using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Tests.Infrastructure;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Components.Tests.Docker;

/// <summary>
/// The orchestrator (Core's VM with the recreate strategy) deploying on Docker through <c>AddDocker()</c>. Readiness is
/// decided by an exec health check run inside the containers by the Docker exec probe.
/// </summary>
[Collection(DockerEngineCollection.Name)]
public sealed class DockerOrchestrationTests(DockerEngineFixture fixture)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [SkippableFact]
    public async Task A_deployment_is_rolled_out_on_docker_and_updated_from_v1_to_v2()
    {
        await fixture.RequireEngineAsync();
        await using var host = await VmHost.StartAsync(fixture.NewOwnerId());
        var id = await host.Vm.DeployAsync(Spec("v1"));
        try
        {
            var first = await host.Vm.WaitUntilSettledAsync(id, Timeout());
            Assert.Equal(DeploymentState.Running, first.State);
            Assert.Equal(["version=v1", "version=v1"], await host.VersionsServedAsync(id));

            await host.Vm.UpdateAsync(id, Spec("v2"));
            var second = await host.Vm.WaitUntilSettledAsync(id, Timeout());

            Assert.Equal(DeploymentState.Running, second.State);
            Assert.Equal(2, second.StableRevision);
            Assert.Equal(["version=v2", "version=v2"], await host.VersionsServedAsync(id));
            Assert.All(await host.Runtime.GetInstancesAsync(id), i => Assert.Equal(2, i.Revision));
        }
        finally
        {
            await host.DestroyAsync(id);
        }
    }

    [SkippableFact]
    public async Task A_v2_that_fails_its_health_check_is_rolled_back_and_v1_serves_again()
    {
        await fixture.RequireEngineAsync();
        await using var host = await VmHost.StartAsync(fixture.NewOwnerId());
        var id = await host.Vm.DeployAsync(Spec("v1"));
        try
        {
            await host.Vm.WaitUntilSettledAsync(id, Timeout());

            await host.Vm.UpdateAsync(id, Spec("v2", failHealth: true));
            var status = await host.Vm.WaitUntilSettledAsync(id, Timeout());

            Assert.Equal(DeploymentState.RolledBack, status.State);
            Assert.Contains("health check", status.Message, StringComparison.Ordinal);
            Assert.Equal(["version=v1", "version=v1"], await host.VersionsServedAsync(id));
            Assert.DoesNotContain(await host.Runtime.GetInstancesAsync(id), i => i.Revision == 2);
        }
        finally
        {
            await host.DestroyAsync(id);
        }
    }

    [SkippableFact]
    public async Task A_v2_that_exits_at_start_is_rolled_back_with_its_exit_code_and_log_lines_in_the_status()
    {
        await fixture.RequireEngineAsync();
        await using var host = await VmHost.StartAsync(fixture.NewOwnerId());
        var id = await host.Vm.DeployAsync(Spec("v1"));
        try
        {
            await host.Vm.WaitUntilSettledAsync(id, Timeout());

            var broken = Spec("v2") with
            {
                Components = [Spec("v2").Components[0] with { Command = new CommandSpec { FileName = "/bin/sh", Arguments = ["-c", "echo 'fatal: missing DATABASE_URL' >&2; exit 78"] } }],
            };
            await host.Vm.UpdateAsync(id, broken);
            var status = await host.Vm.WaitUntilSettledAsync(id, Timeout());

            Assert.Equal(DeploymentState.RolledBack, status.State);
            Assert.Contains("exit code 78", status.Message, StringComparison.Ordinal);
            Assert.Contains("fatal: missing DATABASE_URL", status.Message, StringComparison.Ordinal);
            Assert.Equal(["version=v1", "version=v1"], await host.VersionsServedAsync(id));
        }
        finally
        {
            await host.DestroyAsync(id);
        }
    }

    [SkippableFact]
    public async Task Destroying_a_deployment_leaves_nothing_on_the_engine()
    {
        await fixture.RequireEngineAsync();
        await using var host = await VmHost.StartAsync(fixture.NewOwnerId());
        var spec = Spec("v1") with
        {
            Components = [Spec("v1").Components[0] with { RuntimeSettings = new Dictionary<string, string> { [DockLockSettings.VolumePrefix + "data"] = "/data" } }],
        };
        var id = await host.Vm.DeployAsync(spec);
        await host.Vm.WaitUntilSettledAsync(id, Timeout());
        Assert.NotEmpty(await EngineObjectsAsync(id));

        await host.Vm.DestroyAsync(id);
        var status = await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Destroyed, Timeout());

        Assert.Equal(DeploymentState.Destroyed, status.State);
        Assert.Empty(await EngineObjectsAsync(id));
    }

    [SkippableFact]
    public async Task An_orchestrator_restarted_mid_deployment_removes_what_it_no_longer_knows()
    {
        await fixture.RequireEngineAsync();
        var vmId = fixture.NewOwnerId();
        string id;
        await using (var crashed = await VmHost.StartAsync(vmId))
        {
            // Stop while the rollout runs: the first instances exist, the deployment never settles.
            id = await crashed.Vm.DeployAsync(Spec("v1", replicas: 3));
            await Eventually.UntilAsync(async () => await crashed.Runtime.GetInstancesAsync(id), i => i.Count > 0, "the rollout has created containers");
        }

        // The new process has an empty (in-memory) store: the deployment is unknown to it.
        await using var restarted = await VmHost.StartAsync(vmId);

        Assert.Empty(await EngineObjectsAsync(id));
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token;

    private static DeploymentSpec Spec(string version, bool failHealth = false, int replicas = 2)
    {
        var component = DockerEngineFixture.HttpComponent(version: version) with
        {
            Replicas = replicas,
            HealthCheck = new HealthCheckSpec
            {
                Kind = HealthCheckKind.Exec,
                Command = ["/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/cgi-bin/health"],
                Period = TimeSpan.FromMilliseconds(500),
                Timeout = TimeSpan.FromSeconds(5),
                FailureThreshold = 2,
            },
        };
        if (failHealth)
        {
            component = component with { Environment = new Dictionary<string, string>(component.Environment) { ["FAIL_HEALTH"] = "1" } };
        }

        return new DeploymentSpec
        {
            Name = "web",
            AppId = "shop",
            Environment = "test",
            Components = [component],
            Validation = new ValidationSettings { ProgressDeadline = TimeSpan.FromSeconds(15), PollInterval = TimeSpan.FromMilliseconds(250) },
        };
    }

    private async Task<List<string>> EngineObjectsAsync(string deploymentId)
    {
        var filter = new Dictionary<string, string?> { [WorkloadLabels.Deployment] = deploymentId };
        var containers = await fixture.Client.ListContainersAsync(filter, all: true);
        var networks = await fixture.Client.ListNetworksAsync(filter);
        var volumes = await fixture.Client.ListVolumesAsync(filter);
        return [.. containers.Select(c => "container " + c.Id), .. networks.Select(n => "network " + n.Name), .. volumes.Select(v => "volume " + v.Name)];
    }

    /// <summary>A VM on Docker with its own owner id (the fixture removes whatever that owner leaves behind).</summary>
    private sealed class VmHost : IAsyncDisposable
    {
        private readonly ServiceProvider _provider;

        private VmHost(ServiceProvider provider, string vmId)
        {
            _provider = provider;
            VmId = vmId;
        }

        public string VmId { get; }

        public IOrchestrationVm Vm => _provider.GetRequiredService<IOrchestrationVm>();

        public IDockerWorkloadRuntime Runtime => _provider.GetRequiredService<IDockerWorkloadRuntime>();

        public static async Task<VmHost> StartAsync(string vmId)
        {
            var services = new ServiceCollection();
            services.AddOrchestration(o => o.VmId = vmId).AddDocker(o => o.StopTimeout = TimeSpan.FromSeconds(5));
            var host = new VmHost(services.BuildServiceProvider(), vmId);
            await host.Vm.StartAsync();
            return host;
        }

        public async Task<List<string>> VersionsServedAsync(string deploymentId)
        {
            var instances = await Runtime.GetInstancesAsync(deploymentId);
            var versions = new List<string>();
            foreach (var instance in instances.Where(i => i.State == InstanceState.Running))
            {
                versions.Add((await Http.GetStringAsync($"http://{instance.Endpoint}/cgi-bin/version")).Trim());
            }

            return versions;
        }

        public async Task DestroyAsync(string deploymentId)
        {
            await Vm.DestroyAsync(deploymentId, force: true);
            await Vm.WaitForStateAsync(deploymentId, s => s == DeploymentState.Destroyed, Timeout());
        }

        public async ValueTask DisposeAsync()
        {
            await Vm.StopAsync();
            await _provider.DisposeAsync();
        }

    }
}
