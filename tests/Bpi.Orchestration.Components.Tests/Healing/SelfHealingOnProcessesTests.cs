using System.Diagnostics;
using Bpi.Orchestration.Components.Tests.Infrastructure;
using Bpi.Orchestration.Components.Tests.Processes;
using Bpi.Orchestration.Processes;
using Bpi.Orchestration.Routing;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Components.Tests.Healing;

/// <summary>Self-healing on real SampleService processes behind the in-process router, with requests flowing throughout.</summary>
public sealed class SelfHealingOnProcessesTests
{
    [Fact]
    public async Task SelfHealing_replaces_a_sigkilled_sample_service_process_with_zero_failed_requests_through_the_router()
    {
        Assert.True(File.Exists(RuntimeScope.SampleServiceDll), "the sample service is built with the tests: " + RuntimeScope.SampleServiceDll);
        var vmId = "vm-heal-" + Guid.NewGuid().ToString("N")[..8];
        var stateDirectory = Path.Combine(Path.GetTempPath(), "bpi-orchestration-tests", vmId);
        var services = new ServiceCollection();
        services.AddOrchestration(o =>
            {
                o.VmId = vmId;
                o.SelfHealing = true;

                // The exit watch wakes the healer; the resync is only the safety net and must not be what heals here.
                o.HealingResyncInterval = TimeSpan.FromMinutes(10);
            })
            .AddProcessRuntime(o => o.StateDirectory = stateDirectory)
            .AddInProcessRouter();
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var router = provider.GetRequiredService<InProcessTrafficRouter>();
        var runtime = provider.GetRequiredService<ProcessWorkloadRuntime>();
        await vm.StartAsync();
        string? id = null;
        try
        {
            id = await vm.DeployAsync(Spec());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            var status = await vm.WaitUntilSettledAsync(id, timeout.Token);
            Assert.True(status.State == DeploymentState.Running, $"{status.State}: {status.Message}");
            var serviceId = TrafficRoute.ForComponent(id, "web");
            var endpoint = router.GetEndpoint(serviceId)!;
            var before = await runtime.GetInstancesAsync(id, cancellationToken: timeout.Token);
            Assert.Equal(3, before.Count(i => i.State == InstanceState.Running));

            {
                await using var load = new RequestLoop(endpoint, "/version");
                await load.WaitForSuccessesAsync(50, "requests flow through the router before the kill");
                var victim = before[1];
                var pid = Assert.Single(ProcFs.WithEnvironment("BPI_INSTANCE_ID=" + victim.InstanceId));
                var killedAt = Stopwatch.GetTimestamp();
                using (var process = Process.GetProcessById(pid))
                {
                    process.Kill(); // SIGKILL on Unix: no graceful shutdown, the sockets close under the requests in flight.
                }

                var replaced = await Eventually.UntilAsync(
                    async () => await runtime.GetInstancesAsync(id, cancellationToken: timeout.Token),
                    list => list.Count(i => i.State == InstanceState.Running) == 3 && list.All(i => i.InstanceId != victim.InstanceId),
                    "a new instance replaces the killed one",
                    TimeSpan.FromSeconds(60));
                var replacement = replaced.Single(i => before.All(b => b.InstanceId != i.InstanceId));

                // Traffic follows: the dead endpoint left the route and the replacement serves requests through the router.
                await Eventually.UntilAsync(() => load.AnsweredBy.ContainsKey(replacement.InstanceId), "the replacement answers requests through the router", TimeSpan.FromSeconds(30));
                var healedIn = Stopwatch.GetElapsedTime(killedAt);
                var afterHeal = load.Succeeded;
                await load.WaitForSuccessesAsync(afterHeal + 50, "requests keep flowing after the replacement");
                var stats = router.GetStats(serviceId)!;
                Assert.DoesNotContain(stats.Backends, b => b.InRoute && b.Endpoint == victim.Endpoint);
                Assert.Equal(3, stats.Backends.Count(b => b.InRoute));

                Assert.True(load.Failed == 0, $"failed requests during the replacement: {load.DescribeFailures()} (of {load.Succeeded + load.Failed}; {stats.RequestsRetried} retried by the router; healed in {healedIn.TotalSeconds:0.0} s)");
                Assert.True(load.Succeeded > afterHeal, "requests kept flowing");

                var healthy = await vm.GetStatusAsync(id, timeout.Token);
                Assert.Equal(DeploymentState.Running, healthy.State);
            }

            await vm.DestroyAsync(id, cancellationToken: timeout.Token);
            await vm.WaitForStateAsync(id, s => s == DeploymentState.Destroyed, timeout.Token);
            await Eventually.UntilAsync(() => ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + id).Count == 0, "no SampleService process of the deployment is left");
        }
        finally
        {
            if (id is not null && ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + id).Count > 0)
            {
                await runtime.RemoveDeploymentAsync(id);
            }

            await vm.StopAsync();
            Assert.Empty(ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + id));
            Directory.Delete(stateDirectory, recursive: true);
        }
    }

    private static DeploymentSpec Spec() => new()
    {
        Name = "heal",
        AppId = "shop",
        Environment = "test",
        Components =
        [
            new ComponentSpec
            {
                Id = "web",
                Command = new CommandSpec { FileName = RuntimeScope.SampleServiceDll },
                Replicas = 3,
                Ports = [new PortSpec { ContainerPort = 8080 }],
                Environment = new Dictionary<string, string> { ["SAMPLE_VERSION"] = "1.2.3" },
            },
        ],
        Validation = new ValidationSettings { PollInterval = TimeSpan.FromMilliseconds(100) },
    };
}
