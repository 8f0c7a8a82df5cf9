using System.Diagnostics;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Tests.Infrastructure;
using Bpi.Orchestration.Routing;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Components.Tests.Healing;

/// <summary>
/// Self-healing on the real Docker Engine: a container killed with <c>docker kill</c> is replaced, still DockLock-hardened,
/// woken by the runtime's events (the engine's events stream) with the periodic resync as the safety net.
/// </summary>
[Collection(DockerEngineCollection.Name)]
public sealed class SelfHealingOnDockerTests(DockerEngineFixture fixture)
{
    [SkippableFact]
    public async Task SelfHealing_replaces_a_killed_container_still_docklock_hardened_with_zero_failed_requests_through_the_router()
    {
        // A short resync: whichever of the event and the resync comes first repairs the kill.
        await KillOneAndExpectReplacementAsync(TimeSpan.FromSeconds(2), events: null);
    }

    [SkippableFact]
    public async Task SelfHealing_on_docker_is_woken_by_the_engine_events_stream_not_the_resync()
    {
        // A resync far beyond the test's time-outs: only the runtime's event (the engine's "die") can wake the healer.
        var events = new System.Collections.Concurrent.ConcurrentQueue<WorkloadEvent>();
        var victim = await KillOneAndExpectReplacementAsync(TimeSpan.FromMinutes(10), events);
        Assert.Contains(events, e => e.InstanceId == victim.InstanceId && e.Kind == WorkloadEventKind.Exited && e.ExitCode == 137);
    }

    /// <summary>
    /// Deploys three replicas with load through the in-process router, kills one container with SIGKILL and waits until a
    /// DockLock-hardened replacement serves with zero failed requests; destroys the deployment and checks nothing is left.
    /// With <paramref name="events"/>, also records the runtime's events from before the kill.
    /// </summary>
    private async Task<WorkloadInstance> KillOneAndExpectReplacementAsync(TimeSpan resyncInterval, System.Collections.Concurrent.ConcurrentQueue<WorkloadEvent>? events)
    {
        await fixture.RequireEngineAsync();
        var vmId = fixture.NewOwnerId();
        var services = new ServiceCollection();
        services.AddOrchestration(o =>
            {
                o.VmId = vmId;
                o.SelfHealing = true;
                o.HealingResyncInterval = resyncInterval;
            })
            .AddDocker(o => o.StopTimeout = TimeSpan.FromSeconds(2))
            .AddInProcessRouter();
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var router = provider.GetRequiredService<InProcessTrafficRouter>();
        var runtime = provider.GetRequiredService<IDockerWorkloadRuntime>();
        using var subscription = events is null ? null : Assert.IsAssignableFrom<IWorkloadEvents>(runtime).Subscribe(events.Enqueue);
        await vm.StartAsync();
        string? id = null;
        WorkloadInstance victim;
        try
        {
            id = await vm.DeployAsync(Spec());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
            var status = await vm.WaitUntilSettledAsync(id, timeout.Token);
            Assert.True(status.State == DeploymentState.Running, $"{status.State}: {status.Message}");
            var serviceId = TrafficRoute.ForComponent(id, "web");
            var endpoint = router.GetEndpoint(serviceId)!;
            var before = await runtime.GetInstancesAsync(id, cancellationToken: timeout.Token);
            Assert.Equal(3, before.Count(i => i.State == InstanceState.Running));

            {
                await using var load = new RequestLoop(endpoint, "/cgi-bin/version");
                await load.WaitForSuccessesAsync(30, "requests flow through the router before the kill", TimeSpan.FromSeconds(60));
                victim = before[1];
                var killedAt = Stopwatch.GetTimestamp();
                await fixture.Client.KillContainerAsync(victim.InstanceId, "SIGKILL", timeout.Token);

                var replaced = await Eventually.UntilAsync(
                    async () => await runtime.GetInstancesAsync(id, cancellationToken: timeout.Token),
                    list => list.Count(i => i.State == InstanceState.Running) == 3 && list.All(i => i.InstanceId != victim.InstanceId),
                    "a new container replaces the killed one",
                    TimeSpan.FromSeconds(90));
                var replacement = replaced.Single(i => before.All(b => b.InstanceId != i.InstanceId));

                // The replacement is routed (and answers through the router); the dead endpoint left the route.
                await Eventually.UntilAsync(
                    () => router.GetStats(serviceId)!.Backends.Any(b => b.InRoute && b.Endpoint == replacement.Endpoint && b.Connections > 0),
                    "the replacement serves requests through the router",
                    TimeSpan.FromSeconds(60));
                var healedIn = Stopwatch.GetElapsedTime(killedAt);
                var afterHeal = load.Succeeded;
                await load.WaitForSuccessesAsync(afterHeal + 30, "requests keep flowing after the replacement", TimeSpan.FromSeconds(60));
                var stats = router.GetStats(serviceId)!;
                Assert.DoesNotContain(stats.Backends, b => b.InRoute && b.Endpoint == victim.Endpoint);
                Assert.Equal(3, stats.Backends.Count(b => b.InRoute));
                Assert.True(load.Failed == 0, $"failed requests during the replacement: {load.DescribeFailures()} (of {load.Succeeded + load.Failed}; {stats.RequestsRetried} retried by the router; healed in {healedIn.TotalSeconds:0.0} s)");

                // Still DockLock-hardened: the replacement is created by the same runtime path as every container.
                var inspect = await fixture.Client.InspectContainerAsync(replacement.InstanceId, timeout.Token);
                var host = inspect.HostConfig!;
                Assert.True(host.ReadonlyRootfs);
                Assert.Equal(["ALL"], host.CapDrop);
                Assert.Contains("no-new-privileges:true", host.SecurityOpt!);
                Assert.False(host.Privileged);
                Assert.Equal(256, host.PidsLimit);
                Assert.Equal(global::Docker.DotNet.Models.RestartPolicyKind.No, host.RestartPolicy!.Name);
                Assert.Equal("65534:65534", inspect.Config!.User);
                Assert.Equal("none", inspect.Config.Labels![DockerNaming.RelaxationsLabel]);
            }

            await vm.DestroyAsync(id, cancellationToken: timeout.Token);
            await vm.WaitForStateAsync(id, s => s == DeploymentState.Destroyed, timeout.Token);
            Assert.Empty(await fixture.Client.ListContainersAsync(new Dictionary<string, string?> { [WorkloadLabels.Deployment] = id }, all: true, timeout.Token));
            Assert.Empty(await fixture.Client.ListNetworksAsync(new Dictionary<string, string?> { [WorkloadLabels.Deployment] = id }, timeout.Token));
        }
        finally
        {
            await vm.StopAsync();
            if (id is not null)
            {
                // Only what this test created (its deployment's containers), whatever happened above.
                await runtime.RemoveDeploymentAsync(id);
            }
        }

        return victim;
    }

    private static DeploymentSpec Spec() => new()
    {
        Name = "heal",
        AppId = "shop",
        Environment = "test",
        Components =
        [
            DockerEngineFixture.HttpComponent() with
            {
                Replicas = 3,
                HealthCheck = new HealthCheckSpec
                {
                    Kind = HealthCheckKind.Http,
                    Path = "/cgi-bin/health",
                    Period = TimeSpan.FromSeconds(2),
                    Timeout = TimeSpan.FromSeconds(2),
                    FailureThreshold = 2,
                },
            },
        ],
        Validation = new ValidationSettings { ProgressDeadline = TimeSpan.FromSeconds(60), PollInterval = TimeSpan.FromMilliseconds(250) },
    };
}
