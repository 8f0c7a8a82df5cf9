using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Traffic;
using Xunit;

namespace Bpi.Orchestration.Tests.Vm;

public sealed class DeploymentLifecycleTests
{
    [Fact]
    public async Task Recreate_of_three_replicas_reaches_Running_with_three_ready_instances()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 3));

        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(1, status.StableRevision);
        Assert.Equal(100, status.Progress);
        var web = Assert.Single(status.Components);
        var revision = Assert.Single(web.Instances);
        Assert.Equal(3, revision.Total);
        Assert.Equal(3, revision.Running);
        Assert.Equal(3, host.Runtime.Snapshot().Count(i => i.State == InstanceState.Running));
        Assert.Equal(100, host.Router.GetWeights(TrafficRoute.ForComponent(id, "web"))[1]);
    }

    [Fact]
    public async Task Instances_that_start_slowly_are_awaited_on_the_manual_clock()
    {
        await using var host = new TestHost(runtime: r => r.StartDelay = TimeSpan.FromSeconds(5));
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 2));
        var settled = host.Vm.WaitUntilSettledAsync(id, TestHost.Timeout());

        var status = await host.DriveAsync(settled);

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.True(host.Clock.GetUtcNow() >= new DateTimeOffset(2026, 1, 1, 0, 0, 5, TimeSpan.Zero));
    }

    [Fact]
    public async Task While_instances_start_the_status_says_how_many_are_ready()
    {
        await using var host = new TestHost(runtime: r => r.StartDelay = TimeSpan.FromSeconds(5));

        // DeployAsync returns at the rollout's first wait: the readiness poll, with no instance started yet.
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 2));
        var waiting = await host.Vm.GetStatusAsync(id);

        Assert.Equal(DeploymentState.Deploying, waiting.State);
        Assert.Equal("web revision 1: 0 of 2 ready", waiting.CurrentStep);
        var settled = await host.DriveAsync(host.Vm.WaitUntilSettledAsync(id, TestHost.Timeout()));
        Assert.Equal(DeploymentState.Running, settled.State);
        Assert.Null(settled.CurrentStep);
    }

    [Fact]
    public async Task Update_rolls_out_a_new_revision_and_removes_the_old_one()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 2, image: "web:1"));
        await host.SettleAsync(id);

        var revision = await host.Vm.UpdateAsync(id, Specs.Web(replicas: 3, image: "web:2"));
        var status = await host.SettleAsync(id);

        Assert.Equal(2, revision);
        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(2, status.StableRevision);
        var instances = host.Runtime.Snapshot();
        Assert.Equal(3, instances.Count);
        Assert.All(instances, i => Assert.Equal(2, i.Revision));
        Assert.Equal(new Dictionary<int, int> { [2] = 100 }, host.Router.GetWeights(TrafficRoute.ForComponent(id, "web")));
    }

    [Fact]
    public async Task A_failure_mid_rollout_leaves_no_instance_of_the_new_revision_and_the_ledger_balanced()
    {
        await using var host = new TestHost(o => o.Capacity = new ResourceRequirements { CpuCores = 16, MemoryMb = 16_384 });
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 2, image: "web:1"));
        await host.SettleAsync(id);
        var before = host.Ledger.Allocated;
        host.Runtime.Faults.FailStart(r => r.Revision == 2, exitCode: 3, message: "bad config", "reading config", "panic: missing key DB_URL");

        await host.Vm.UpdateAsync(id, Specs.Web(replicas: 4, image: "web:2"));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.Equal(1, status.StableRevision);
        Assert.Contains("exit code 3", status.Message, StringComparison.Ordinal);
        Assert.Contains("panic: missing key DB_URL", status.Message, StringComparison.Ordinal);
        var instances = host.Runtime.Snapshot();
        Assert.DoesNotContain(instances, i => i.Revision == 2);
        Assert.Equal(2, instances.Count(i => i.Revision == 1 && i.State == InstanceState.Running));
        Assert.Equal(before, host.Ledger.Allocated);
        Assert.Equal(before, status.Allocation);
        Assert.Equal(new Dictionary<int, int> { [1] = 100 }, host.Router.GetWeights(TrafficRoute.ForComponent(id, "web")));
    }

    [Fact]
    public async Task A_first_deployment_that_fails_leaves_nothing_behind_and_releases_its_resources()
    {
        await using var host = new TestHost(o => o.Capacity = new ResourceRequirements { CpuCores = 8, MemoryMb = 8192 });
        host.Runtime.Faults.FailStart(_ => true, exitCode: 1, message: "exec format error");

        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 3));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Failed, status.State);
        Assert.Equal(OrchestrationErrorKind.ContainerStartupFailed.ToString(), host.Audit.Snapshot().Last(e => e.Action == "rollout.step.failed").Data!["error.kind"]);
        Assert.Empty(host.Runtime.Snapshot());
        Assert.Equal(ResourceRequirements.None, host.Ledger.Allocated);
        Assert.Null(host.Router.GetRoute(TrafficRoute.ForComponent(id, "web")));
    }

    [Fact]
    public async Task An_instance_that_turns_unhealthy_fails_the_progress_deadline_and_is_rolled_back()
    {
        await using var host = new TestHost(runtime: r => r.StartDelay = TimeSpan.FromSeconds(1));
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 1, image: "web:1"));
        await host.SettleAsync(id);
        host.Runtime.Faults.UnhealthyAfter(r => r.Revision == 2, TimeSpan.Zero);
        var spec = Specs.Web(replicas: 1, image: "web:2") with { Validation = new ValidationSettings { ProgressDeadline = TimeSpan.FromSeconds(30) } };

        await host.Vm.UpdateAsync(id, spec);
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.Contains("Progress deadline exceeded", status.Message, StringComparison.Ordinal);
        Assert.Contains("unhealthy", status.Message, StringComparison.Ordinal);
        Assert.All(host.Runtime.Snapshot(), i => Assert.Equal(1, i.Revision));
    }

    [Fact]
    public async Task Destroy_releases_resources_and_removes_every_instance_and_route()
    {
        await using var host = new TestHost(o => o.Capacity = new ResourceRequirements { CpuCores = 8, MemoryMb = 8192 });
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 3));
        await host.SettleAsync(id);
        Assert.NotEqual(ResourceRequirements.None, host.Ledger.Allocated);

        await host.Vm.DestroyAsync(id);

        var status = await host.Vm.GetStatusAsync(id);
        Assert.Equal(DeploymentState.Destroyed, status.State);
        Assert.Empty(host.Runtime.Snapshot());
        Assert.Equal(ResourceRequirements.None, host.Ledger.Allocated);
        Assert.Null(host.Router.GetRoute(TrafficRoute.ForComponent(id, "web")));
        Assert.Empty((await host.Vm.ListAsync()).Deployments);
    }

    [Fact]
    public async Task Only_the_newest_destroyed_deployments_are_remembered_and_the_others_leave_the_store()
    {
        var store = new InMemoryDeploymentStore();
        await using var host = new TestHost(o => o.DestroyedDeploymentsRetained = 2, extra: b => b.UseDeploymentStore(store));
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var id = await host.Vm.DeployAsync(Specs.Web(replicas: 1, name: $"gone-{i}"));
            await host.SettleAsync(id);
            await host.Vm.DestroyAsync(id);
            ids.Add(id);
        }

        var live = await host.Vm.DeployAsync(Specs.Web(replicas: 1, name: "kept"));
        await host.SettleAsync(live);

        foreach (var forgotten in ids.Take(2))
        {
            var error = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.GetStatusAsync(forgotten));
            Assert.Equal(OrchestrationErrorKind.NotFound, error.Kind);
            Assert.Contains("only the newest 2 destroyed deployments are remembered", error.Message, StringComparison.Ordinal);
            Assert.Null(await store.GetAsync(forgotten));
        }

        foreach (var remembered in ids.Skip(2))
        {
            Assert.Equal(DeploymentState.Destroyed, (await host.Vm.GetStatusAsync(remembered)).State);
            Assert.NotNull(await store.GetAsync(remembered));
        }

        Assert.Equal(DeploymentState.Running, (await host.Vm.GetStatusAsync(live)).State);
        Assert.Equal(3, (await store.ListAsync()).Count);
        Assert.Equal(4, host.Audit.Snapshot().Count(e => e.Action == "deployment.destroyed"));
    }

    [Fact]
    public async Task Destroy_during_a_rollout_stops_it_and_leaves_nothing_behind()
    {
        await using var host = new TestHost(runtime: r => r.StartDelay = TimeSpan.FromHours(1));
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 3));
        await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Deploying, TestHost.Timeout());

        await host.Vm.DestroyAsync(id, force: true);

        Assert.Equal(DeploymentState.Destroyed, (await host.Vm.GetStatusAsync(id)).State);
        Assert.Empty(host.Runtime.Snapshot());
        Assert.Equal(ResourceRequirements.None, host.Ledger.Allocated);
    }

    [Fact]
    public async Task Scale_changes_the_instance_count_of_the_serving_revision()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 2));
        await host.SettleAsync(id);

        await host.Vm.ScaleAsync(id, 5);
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(1, status.StableRevision);
        Assert.Equal(5, status.Components[0].DesiredReplicas);
        Assert.Equal(5, host.Runtime.Snapshot().Count);
        Assert.Equal(2.5, host.Ledger.Allocated.CpuCores, 6);
    }

    [Fact]
    public async Task Manual_rollback_returns_to_an_earlier_revision_and_refuses_one_no_longer_retained()
    {
        await using var host = new TestHost();
        var spec = Specs.Web(replicas: 1, image: "web:1") with { Rollback = new RollbackSettings { HistoryLimit = 2 } };
        var id = await host.Vm.DeployAsync(spec);
        await host.SettleAsync(id);
        for (var v = 2; v <= 4; v++)
        {
            await host.Vm.UpdateAsync(id, spec with { Components = [spec.Components[0] with { Image = $"web:{v}" }] });
            await host.SettleAsync(id);
        }

        var gone = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.RollbackAsync(id, toRevision: 1));
        Assert.Equal(OrchestrationErrorKind.NotFound, gone.Kind);
        Assert.Contains("no longer available", gone.Message, StringComparison.Ordinal);

        // Mark instances created from the web:3 image so the test can tell which spec the rollback ran.
        host.Runtime.Faults.RespondWith(r => r.Component.Image == "web:3", errorRate: 0.25);
        var revision = await host.Vm.RollbackAsync(id);
        var status = await host.SettleAsync(id);

        Assert.Equal(5, revision);
        Assert.Equal(5, status.StableRevision);
        var instance = Assert.Single(host.Runtime.Snapshot());
        Assert.Equal(5, instance.Revision);
        Assert.Equal(0.25, host.Runtime.GetBehavior(instance.InstanceId)!.Value.ErrorRate);
    }

    [Fact]
    public async Task Transient_runtime_failures_are_retried()
    {
        await using var host = new TestHost();
        await host.Vm.StartAsync();
        host.Runtime.Faults.FailNextCalls(2);

        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 2));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Running, status.State);
    }

    [Fact]
    public async Task A_dry_run_returns_the_plan_without_touching_the_runtime()
    {
        await using var host = new TestHost();
        var spec = Specs.Web(replicas: 2) with
        {
            Components =
            [
                Specs.Web().Components[0] with { Id = "api", DependsOn = ["db"] },
                new ComponentSpec { Id = "db", Image = "db:1", Replicas = 1 },
            ],
        };

        await host.Vm.StartAsync();
        var calls = host.Runtime.Calls;

        var plan = await host.Vm.PlanAsync(spec);

        Assert.Equal(calls, host.Runtime.Calls);
        Assert.Equal(["scale db revision 1 to 1", "wait for 1 ready instance of db revision 1", "route db: revision 1 100%", "scale api revision 1 to 3", "wait for 3 ready instances of api revision 1", "route api: revision 1 100%"], plan.Steps.Select(s => s.Describe()));
        Assert.Contains("1. scale db revision 1 to 1", plan.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deploying_the_same_name_twice_in_one_environment_is_a_conflict()
    {
        await using var host = new TestHost();
        await host.Vm.DeployAsync(Specs.Web());

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.DeployAsync(Specs.Web()));

        Assert.Equal(OrchestrationErrorKind.Conflict, ex.Kind);
        Assert.Contains("UpdateAsync", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_deployments_are_reported_as_not_found()
    {
        await using var host = new TestHost();

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.GetStatusAsync("nope"));

        Assert.Equal(OrchestrationErrorKind.NotFound, ex.Kind);
    }
}
