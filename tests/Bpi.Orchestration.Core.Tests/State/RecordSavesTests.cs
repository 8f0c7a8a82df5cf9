using Bpi.Orchestration.State;
using Microsoft.Extensions.DependencyInjection;
using Bpi.Orchestration.TestUtilities;

namespace Bpi.Orchestration.Tests.State;

/// <summary>How often a rollout writes its record: once per state it stores and once per step boundary it must resume from (after a step that changes something).</summary>
public sealed class RecordSavesTests
{
    [Fact]
    public async Task A_rollout_stores_its_cursor_after_each_step_that_changes_something_but_the_last_whose_ending_clears_it()
    {
        var store = new RecordingStore();
        await using var host = new TestHost(extra: b => b.UseDeploymentStore(store));
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 2));
        await host.SettleAsync(id);

        // Recreate of one component: scale, await ready, route (3 steps). Saved: accepted (Pending), planned (Deploying,
        // cursor 0), after the scale (cursor 1), serving (Running, no cursor). The readiness wait only observes: a resume
        // runs it again, so its completion is not written (the route's start finds the cursor leading to it). The last
        // step's cursor would be cleared by the very next save, so it is not written either.
        Assert.Equal([null, 0, 1, null], store.CursorsOf(id));
        Assert.Equal(DeploymentState.Running, store.Saved[^1].State);
    }
}
