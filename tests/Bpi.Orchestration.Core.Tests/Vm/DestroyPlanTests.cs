using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Testing;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Xunit;

namespace Bpi.Orchestration.Tests.Vm;

/// <summary>Destroy is a plan run by the executor: it can be paused and resumed like a rollout, and it is audited step by step.</summary>
public sealed class DestroyPlanTests
{
    [Fact]
    public async Task A_destroy_paused_midway_keeps_its_remaining_steps_until_it_is_resumed()
    {
        GatedRuntime? gated = null;
        await using var host = new TestHost(extra: b => b.Services.Replace(ServiceDescriptor.Singleton<IWorkloadRuntime>(sp => gated = new GatedRuntime(sp.GetRequiredService<InMemoryWorkloadRuntime>()))));
        var vm = host.Vm;
        var id = await vm.DeployAsync(Specs.Web(replicas: 2));
        await host.SettleAsync(id);
        var route = TrafficRoute.ForComponent(id, "web");
        Assert.NotNull(host.Router.GetRoute(route));

        using var watching = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var events = vm.WatchAsync(id, watching.Token).GetAsyncEnumerator(watching.Token);
        gated!.Block((workload, replicas) => workload.DeploymentId == id && replicas == 0);
        var destroying = vm.DestroyAsync(id);
        await gated.Entered.WaitAsync(TestHost.Timeout());

        // Paused while the first step (scale to zero) runs; the step finishes, the plan stops before the next one.
        await vm.PauseAsync(id);
        gated.Release();
        while (await events.MoveNextAsync() && events.Current is not { Kind: DeploymentEventKind.StepCompleted, StepIndex: 0 })
        {
        }

        Assert.False(destroying.IsCompleted);
        Assert.Equal(DeploymentState.Destroying, (await vm.GetStatusAsync(id)).State);
        Assert.DoesNotContain(host.Runtime.Snapshot(), i => i.DeploymentId == id);
        Assert.NotNull(host.Router.GetRoute(route)); // the route removal is the step still to run

        await vm.ResumeAsync(id);
        await destroying.WaitAsync(TestHost.Timeout());
        await events.DisposeAsync();

        Assert.Equal(DeploymentState.Destroyed, (await vm.GetStatusAsync(id)).State);
        Assert.Null(host.Router.GetRoute(route));
        Assert.Equal(ResourceRequirements.None, host.Ledger.Allocated);
        var audit = host.Audit.Snapshot().Where(e => e.Target == id).Select(e => e.Action).ToList();
        Assert.Contains("rollout.pause", audit);
        Assert.Contains("rollout.resume", audit);
        Assert.Equal(3 + 2, audit.Count(a => a == "rollout.step.completed")); // the deploy's three steps, then the destroy's two
    }

    [Fact]
    public async Task A_destroy_cannot_be_aborted()
    {
        GatedRuntime? gated = null;
        await using var host = new TestHost(extra: b => b.Services.Replace(ServiceDescriptor.Singleton<IWorkloadRuntime>(sp => gated = new GatedRuntime(sp.GetRequiredService<InMemoryWorkloadRuntime>()))));
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 1));
        await host.SettleAsync(id);
        gated!.Block((workload, replicas) => workload.DeploymentId == id && replicas == 0);
        var destroying = host.Vm.DestroyAsync(id);
        await gated.Entered.WaitAsync(TestHost.Timeout());

        var refused = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.AbortAsync(id));
        gated.Release();
        await destroying.WaitAsync(TestHost.Timeout());

        Assert.Equal(OrchestrationErrorKind.Conflict, refused.Kind);
        Assert.Equal(DeploymentState.Destroyed, (await host.Vm.GetStatusAsync(id)).State);
    }

    [Fact]
    public async Task A_plan_leaves_no_instance_of_a_stale_revision_and_the_sweep_is_audited_as_a_clean_up_plan()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 1));
        await host.SettleAsync(id);

        // An instance of a revision the deployment never had, as a crash between two steps could leave behind.
        var spec = Specs.Web(replicas: 1);
        await host.Runtime.EnsureReplicasAsync(new WorkloadRevision
        {
            OwnerId = "vm-test",
            DeploymentId = id,
            DeploymentName = spec.Name,
            AppId = spec.AppId,
            Environment = spec.Environment,
            Revision = 7,
            Component = spec.Components[0],
        }, 1);

        await host.Vm.UpdateAsync(id, Specs.Web(replicas: 1, image: "web:2"));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.All(host.Runtime.Snapshot().Where(i => i.DeploymentId == id), i => Assert.Equal(2, i.Revision));
        Assert.Contains(host.Audit.Snapshot(), e => e.Target == id && e.Action == "rollout.step.started" && e.Data?.GetValueOrDefault("plan") == nameof(RolloutKind.Cleanup));
    }
}
