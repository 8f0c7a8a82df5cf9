using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Tests.Infrastructure;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Components.Tests.Docker;

/// <summary>
/// The orchestrator (Core's VM with the recreate strategy, and the rolling strategy of the Strategies package) deploying
/// on Docker through <c>AddDocker()</c>. Readiness is decided by health checks: exec checks run inside the containers
/// through the runtime's <see cref="IWorkloadCommandRunner"/>, HTTP checks against the published endpoints.
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
    public async Task DockLock_settings_the_engine_would_refuse_are_refused_at_admission_with_every_problem_and_nothing_starts()
    {
        await fixture.RequireEngineAsync();
        await using var host = await VmHost.StartAsync(fixture.NewOwnerId());
        var web = Spec("v1").Components[0];
        var spec = Spec("v1") with
        {
            Components = [web with { RuntimeSettings = new Dictionary<string, string>(web.RuntimeSettings) { [DockLockSettings.Prefix + "bogus"] = "1", [DockLockSettings.ReadOnlyRootFilesystem] = "false" } }],
        };

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.DeployAsync(spec));

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, ex.Kind);
        Assert.Equal(2, ex.Errors.Count);
        Assert.Contains(ex.Errors, e => e.StartsWith($"components[0] ({web.Id}): RuntimeSettings['docklock.bogus'] is not a DockLock setting", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith($"components[0] ({web.Id}): RuntimeSettings['docklock.readOnlyRootFilesystem'] = 'false' relaxes a DockLock default and needs a reason", StringComparison.Ordinal));
        Assert.DoesNotContain(await host.Runtime.ListOwnedAsync(), i => i.OwnerId == host.VmId);
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
    public async Task An_orchestrator_restarted_without_the_record_leaves_the_containers_running_and_reports_them()
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

        // The new process has an empty (in-memory) store: the deployment is unknown to it. Its record may only be missing
        // or unreadable, so nothing is stopped on a guess (issue #21 D13): the containers stay, and the start says so.
        await using var restarted = await VmHost.StartAsync(vmId);

        Assert.NotEmpty(await EngineObjectsAsync(id));
        var audit = Assert.IsType<InMemoryAuditSink>(restarted.Audit);
        Assert.Single(audit.Snapshot(), e => e.Action == "runtime.orphans.unknown" && e.Target == id);

        // Removing them is an explicit act of the operator (here through the runtime), and it leaves nothing behind.
        await restarted.Runtime.RemoveDeploymentAsync(id);
        Assert.Empty(await EngineObjectsAsync(id));
    }

    [SkippableFact]
    public async Task A_rolling_update_of_five_replicas_replaces_v1_with_v2_gated_on_health_without_losing_capacity()
    {
        await fixture.RequireEngineAsync();
        await using var host = await VmHost.StartAsync(fixture.NewOwnerId());
        var id = await host.Vm.DeployAsync(RollingSpec("v1"));
        try
        {
            Assert.Equal(DeploymentState.Running, (await host.Vm.WaitUntilSettledAsync(id, Timeout())).State);

            await host.Vm.UpdateAsync(id, RollingSpec("v2"));
            var samples = await host.SampleUntilSettledAsync(id);

            var status = await host.Vm.GetStatusAsync(id);
            Assert.Equal(DeploymentState.Running, status.State);
            Assert.Equal(2, status.StableRevision);
            Assert.Equal(Enumerable.Repeat("version=v2", 5), await host.VersionsServedAsync(id));

            // maxUnavailable 0 and maxSurge 1: never fewer than 5 running, never more than 6 containers, v2 replaced v1 step by step.
            Assert.All(samples, s => Assert.True(s.Running >= 5, $"only {s.Running} running: {s}"));
            Assert.All(samples, s => Assert.True(s.Total <= 6, $"{s.Total} containers: {s}"));
            Assert.Contains(samples, s => s.RunningV1 > 0 && s.RunningV2 > 0);
        }
        finally
        {
            await host.DestroyAsync(id);
        }
    }

    [SkippableFact]
    public async Task A_rolling_update_whose_v2_fails_its_health_check_is_rolled_back_while_v1_keeps_serving()
    {
        await fixture.RequireEngineAsync();
        await using var host = await VmHost.StartAsync(fixture.NewOwnerId());
        var id = await host.Vm.DeployAsync(RollingSpec("v1"));
        try
        {
            await host.Vm.WaitUntilSettledAsync(id, Timeout());

            await host.Vm.UpdateAsync(id, RollingSpec("v2", failHealth: true));
            var samples = await host.SampleUntilSettledAsync(id, probeV1: true);

            var status = await host.Vm.GetStatusAsync(id);
            Assert.Equal(DeploymentState.RolledBack, status.State);
            Assert.Equal(1, status.StableRevision);
            Assert.Contains("health check", status.Message, StringComparison.Ordinal);
            Assert.Equal(Enumerable.Repeat("version=v1", 5), await host.VersionsServedAsync(id));
            Assert.DoesNotContain(await host.Runtime.GetInstancesAsync(id), i => i.Revision == 2);

            // v2 never became ready, so no v1 instance was taken away, and every v1 instance answered throughout.
            Assert.Contains(samples, s => s.RunningV2 > 0);
            Assert.All(samples, s => Assert.True(s.RunningV1 == 5, $"v1 running {s.RunningV1}: {s}"));
            Assert.All(samples, s => Assert.True(s.V1Failures == 0, $"v1 failed to answer: {s}"));
        }
        finally
        {
            await host.DestroyAsync(id);
        }
    }

    private static DeploymentSpec RollingSpec(string version, bool failHealth = false)
    {
        var component = DockerEngineFixture.HttpComponent(version: version) with
        {
            Replicas = 5,
            HealthCheck = new HealthCheckSpec
            {
                Kind = HealthCheckKind.Http,
                Path = "/cgi-bin/health",
                // A slow engine may take seconds to exec a probe; the timeout may not exceed the period.
                Period = TimeSpan.FromSeconds(2),
                Timeout = TimeSpan.FromSeconds(2),
                FailureThreshold = 2,
            },
        };
        if (failHealth)
        {
            component = component with { Environment = new Dictionary<string, string>(component.Environment) { ["FAIL_HEALTH"] = "1" } };
        }

        return Spec(version) with
        {
            Components = [component],
            Strategy = new Bpi.Orchestration.Strategies.Rolling.RollingStrategySpec { MaxSurge = 1, MaxUnavailable = 0 },
        };
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
                // A slow engine may take seconds to exec a probe; the timeout may not exceed the period.
                Period = TimeSpan.FromSeconds(2),
                Timeout = TimeSpan.FromSeconds(2),
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
            Validation = new ValidationSettings { ProgressDeadline = TimeSpan.FromSeconds(20), PollInterval = TimeSpan.FromMilliseconds(250) },
        };
    }

    private async Task<List<string>> EngineObjectsAsync(string deploymentId)
    {
        var filter = new Dictionary<string, string?> { [WorkloadLabels.Deployment] = deploymentId };
        var containers = await fixture.Client.ListContainersAsync(filter, all: true);
        var networks = await fixture.Client.ListNetworksAsync(filter);
        var volumes = await fixture.Client.ListVolumesAsync(filter);
        return [.. containers.Select(c => "container " + c.ID), .. networks.Select(n => "network " + n.Name), .. volumes.Select(v => "volume " + v.Name)];
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

        public IAuditSink Audit => _provider.GetRequiredService<IAuditSink>();

        public static async Task<VmHost> StartAsync(string vmId)
        {
            var services = new ServiceCollection();
            services.AddOrchestration(o => o.VmId = vmId).AddDocker(o => o.StopTimeout = TimeSpan.FromSeconds(5)).AddStrategies();
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

        /// <summary>Samples the deployment's containers (and optionally asks every v1 instance for its version) until it settles.</summary>
        public async Task<List<Sample>> SampleUntilSettledAsync(string deploymentId, bool probeV1 = false)
        {
            var samples = new List<Sample>();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            while (true)
            {
                var status = await Vm.GetStatusAsync(deploymentId, timeout.Token);
                var instances = await Runtime.GetInstancesAsync(deploymentId, cancellationToken: timeout.Token);
                var running = instances.Where(i => i.State == InstanceState.Running).ToList();
                var v1Failures = 0;
                if (probeV1)
                {
                    foreach (var instance in running.Where(i => i.Revision == 1))
                    {
                        try
                        {
                            var body = await Http.GetStringAsync($"http://{instance.Endpoint}/cgi-bin/version", timeout.Token);
                            v1Failures += body.Trim() == "version=v1" ? 0 : 1;
                        }
                        catch (HttpRequestException)
                        {
                            v1Failures++;
                        }
                    }
                }

                if (status.State.IsSettled())
                {
                    return samples;
                }

                samples.Add(new Sample(instances.Count, running.Count, running.Count(i => i.Revision == 1), running.Count(i => i.Revision == 2), v1Failures, status.State));
                await Task.Delay(TimeSpan.FromMilliseconds(100), timeout.Token);
            }
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

/// <summary>What the engine held at one moment of a rollout.</summary>
internal sealed record Sample(int Total, int Running, int RunningV1, int RunningV2, int V1Failures, DeploymentState State);
