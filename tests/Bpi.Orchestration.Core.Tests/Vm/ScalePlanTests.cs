using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Tests.Vm;

/// <summary>Scale is a plan run by the executor, planned against what the runtime reports (issue #21, D4).</summary>
public sealed class ScalePlanTests
{
    [Fact]
    public async Task A_scale_interrupted_by_a_stop_is_resumed_by_the_next_orchestrator_on_a_durable_store_and_ends_with_every_replica()
    {
        var directory = Directory.CreateTempSubdirectory("bpi-scale-");
        try
        {
            var clock = new ManualTimeProvider();
            using var inner = new InMemoryWorkloadRuntime(timeProvider: clock);
            var runtime = new GatedRuntime(inner);
            string id;

            await using (var first = Build(clock, new FileDeploymentStore(directory.FullName), runtime))
            {
                var vm = first.GetRequiredService<IOrchestrationVm>();
                id = await vm.DeployAsync(Specs.Web(replicas: 3));
                Assert.Equal(DeploymentState.Running, (await vm.WaitUntilSettledAsync(id, TestHost.Timeout())).State);

                runtime.Block((workload, replicas) => workload.DeploymentId == id && replicas == 6);
                await vm.ScaleAsync(id, 6);
                await runtime.Entered.WaitAsync(TestHost.Timeout());
            }

            // The first orchestrator stopped in the middle of the scale: 6 wanted and stored, 3 running.
            var stored = await new FileDeploymentStore(directory.FullName).GetAsync(id);
            Assert.Equal(RolloutKind.Scale, stored!.Cursor?.Kind);
            Assert.Equal(6, stored.CurrentSpec.Components[0].Replicas);
            Assert.Equal(3, Running(inner, id));

            await using var second = Build(clock, new FileDeploymentStore(directory.FullName), runtime);
            var resumed = second.GetRequiredService<IOrchestrationVm>();
            await resumed.StartAsync();
            var status = await resumed.WaitUntilSettledAsync(id, TestHost.Timeout());

            Assert.True(status.State == DeploymentState.Running, status.Message);
            Assert.Equal(6, Running(inner, id));
            Assert.Equal(6, status.Components[0].Instances.Single().Running);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Scaling_to_the_stored_count_converges_the_runtime_when_fewer_instances_run()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 6));
        await host.SettleAsync(id);

        // Something outside the orchestrator took three instances away: the record still says 6.
        await host.Runtime.EnsureReplicasAsync(Workload(id, Specs.Web(replicas: 6)), 3);
        Assert.Equal(3, Running(host.Runtime, id));

        await host.Vm.ScaleAsync(id, 6);
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(6, Running(host.Runtime, id));
    }

    private static int Running(InMemoryWorkloadRuntime runtime, string id)
        => runtime.Snapshot().Count(i => i.DeploymentId == id && i.State == InstanceState.Running);

    private static WorkloadRevision Workload(string id, DeploymentSpec spec) => new()
    {
        OwnerId = "vm-test",
        DeploymentId = id,
        DeploymentName = spec.Name,
        AppId = spec.AppId,
        Environment = spec.Environment,
        Revision = 1,
        Component = spec.Components[0],
    };

    private static ServiceProvider Build(ManualTimeProvider clock, IDeploymentStore store, IWorkloadRuntime runtime)
    {
        // The runtime outlives each orchestrator, as a real engine does.
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = "vm-test")
            .UseTimeProvider(clock)
            .UseDeploymentStore(store);
        services.AddSingleton(runtime);
        return services.BuildServiceProvider();
    }
}
