using Bpi.Orchestration.Strategies.Rolling;
using Bpi.Orchestration.Traffic;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Rolling;

public sealed class RollingRolloutTests
{
    private static readonly RollingStrategySpec OneByOne = new() { MaxSurge = 1, MaxUnavailable = 0, PauseBetweenBatches = TimeSpan.FromMinutes(1) };

    [Fact]
    public async Task A_rolling_update_replaces_every_instance_and_routes_all_traffic_to_the_new_revision()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Specs.Web(3, "web:1", OneByOne));
        await host.SettleAsync(id);

        await host.Vm.UpdateAsync(id, Specs.Web(3, "web:2", OneByOne));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.All(host.Runtime.Snapshot(), i => Assert.Equal(2, i.Revision));
        Assert.Equal(new Dictionary<int, int> { [2] = 100 }, host.Router.GetWeights(TrafficRoute.ForComponent(id, "web")));
        Assert.Contains(host.Router.History, r => r.Backends.Count == 2);
    }

    [Fact]
    public async Task Pause_and_resume_mid_rollout_keep_the_batch_it_reached()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Specs.Web(3, "web:1", OneByOne));
        await host.SettleAsync(id);
        await host.Vm.UpdateAsync(id, Specs.Web(3, "web:2", OneByOne));
        await host.Clock.WaitForTimersAsync(1, TestHost.Timeout()); // in the pause after the first batch

        await host.Vm.PauseAsync(id);
        var paused = await host.Vm.GetStatusAsync(id);
        host.Clock.Advance(TimeSpan.FromMinutes(10));
        var counts = host.Runtime.Snapshot().GroupBy(i => i.Revision).ToDictionary(g => g.Key, g => g.Count());
        await host.Vm.ResumeAsync(id);
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Paused, paused.State);
        Assert.Equal(new Dictionary<int, int> { [1] = 2, [2] = 1 }, counts);
        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(1, host.Audit.Snapshot().Count(e => e.Action == "rollout.step.started" && e.Data!["step"] == "scale web revision 2 to 1"));
    }

    [Fact]
    public async Task A_batch_that_misses_the_progress_deadline_fails_with_that_reason_and_is_rolled_back()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Specs.Web(3, "web:1", OneByOne));
        await host.SettleAsync(id);
        host.Runtime.Faults.UnhealthyAfter(r => r.Revision == 2, TimeSpan.Zero);
        var spec = Specs.Web(3, "web:2", OneByOne) with { Validation = new ValidationSettings { ProgressDeadline = TimeSpan.FromSeconds(30) } };

        await host.Vm.UpdateAsync(id, spec);
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.Contains("Progress deadline exceeded", status.Message, StringComparison.Ordinal);
        Assert.Equal(3, host.Runtime.Snapshot().Count(i => i.Revision == 1));
        Assert.DoesNotContain(host.Runtime.Snapshot(), i => i.Revision == 2);
    }

    [Fact]
    public async Task A_failed_rollout_without_automatic_rollback_stays_failed_where_it_stopped()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Specs.Web(2, "web:1", OneByOne));
        await host.SettleAsync(id);
        host.Runtime.Faults.FailStart(r => r.Revision == 2);

        await host.Vm.UpdateAsync(id, Specs.Web(2, "web:2", OneByOne) with { Rollback = new RollbackSettings { Automatic = false } });
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Failed, status.State);
        Assert.Contains("Automatic rollback is off", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Manual_rollback_goes_to_any_retained_revision_and_refuses_one_that_is_gone()
    {
        await using var host = new TestHost();
        var spec = Specs.Web(2, "web:1", OneByOne) with { Rollback = new RollbackSettings { HistoryLimit = 2 } };
        var id = await host.Vm.DeployAsync(spec);
        await host.SettleAsync(id);
        for (var v = 2; v <= 4; v++)
        {
            await host.Vm.UpdateAsync(id, spec with { Components = [spec.Components[0] with { Image = $"web:{v}" }] });
            await host.SettleAsync(id);
        }

        var gone = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.RollbackAsync(id, 1));
        var revision = await host.Vm.RollbackAsync(id, 3);
        var status = await host.SettleAsync(id);

        Assert.Equal(OrchestrationErrorKind.NotFound, gone.Kind);
        Assert.Contains("no longer available", gone.Message, StringComparison.Ordinal);
        Assert.Equal(5, revision);
        Assert.Equal(DeploymentState.Running, status.State);
        Assert.All(host.Runtime.Snapshot(), i => Assert.Equal(5, i.Revision));
    }
}
