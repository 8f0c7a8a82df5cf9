using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Testing;
using Bpi.Orchestration.TestUtilities;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Tests.Autoscaling;

/// <summary>The autoscaler's memory (stabilisation history, recent scales) stored with the deployment and used by the next orchestrator.</summary>
public sealed class DurableAutoscalingTests
{
    private static readonly TimeSpan Interval = new OrchestrationOptions().AutoscalingInterval;

    [Fact]
    public async Task An_orchestrator_restarted_mid_window_scales_in_when_the_inherited_window_ends_not_earlier_and_not_later()
    {
        var clock = new ManualTimeProvider();
        var store = new InMemoryDeploymentStore();
        using var runtime = new InMemoryWorkloadRuntime(timeProvider: clock);
        string id;
        DateTimeOffset lastFour;
        DateTimeOffset restartedAt;

        await using (var first = Build(clock, store, runtime))
        {
            var vm = first.GetRequiredService<IOrchestrationVm>();
            id = await vm.DeployAsync(AutoscalingLoopTests.Autoscaled(replicas: 1, scaleDownWindow: TimeSpan.FromSeconds(60)));
            await Settle(clock, vm, id);

            // 200 % of the target: out to 4; then at the target on 4 for two passes; then idle, asking for 1.
            runtime.SetUtilization(id, "web", cpuCores: 1.0);
            await Tick(clock, vm, id, s => s.Autoscaling.Count == 1 && s.Autoscaling[0].Scaled, "the scale-out");
            runtime.SetUtilization(id, "web", cpuCores: 0.25);
            Assert.Equal(4, (await Settle(clock, vm, id)).Components[0].DesiredReplicas);
            var atTarget = await Tick(clock, vm, id, s => !s.Autoscaling[0].Scaled && s.Autoscaling[0].Reason.Contains("within tolerance", StringComparison.Ordinal), "a pass at the target");
            lastFour = (await Tick(clock, vm, id, s => s.Autoscaling[0].At > atTarget.Autoscaling[0].At, "a second pass at the target")).Autoscaling[0].At;
            runtime.SetUtilization(id, "web", cpuCores: 0.05);
            var held = await Tick(clock, vm, id, s => s.Autoscaling[0].At > lastFour, "the held scale-in");
            held = await Tick(clock, vm, id, s => s.Autoscaling[0].At > held.Autoscaling[0].At, "the scale-in held again");
            Assert.Equal(4, held.Autoscaling[0].DesiredReplicas);
            Assert.Contains("scale-down stabilisation window", held.Autoscaling[0].Reason, StringComparison.Ordinal);
            restartedAt = held.Autoscaling[0].At;
            await vm.StopAsync();
        }

        var stored = Assert.Single((await store.GetAsync(id))!.Autoscalers!);
        Assert.Equal(("web", 1), (stored.ComponentId, stored.Revision));
        Assert.Contains(new AutoscalerSample(lastFour, 4), stored.Recommendations);
        Assert.Contains(stored.Scales, s => s.Value == 3);

        await using var second = Build(clock, store, runtime);
        var restarted = second.GetRequiredService<IOrchestrationVm>();
        await restarted.StartAsync();

        // Held while the inherited window (from the last pass asking for 4) runs; scaled in at its first pass after it.
        var due = lastFour + TimeSpan.FromSeconds(60);
        DeploymentStatus status;
        do
        {
            status = await Tick(clock, restarted, id, s => s.Autoscaling.Count == 1 && s.Autoscaling[0].At >= clock.GetUtcNow() - TimeSpan.FromSeconds(1), "a pass of the restarted orchestrator");
            Assert.True(status.Autoscaling[0].Scaled == (status.Autoscaling[0].At >= due), $"at {status.Autoscaling[0].At - lastFour} after the last 4: {status.Autoscaling[0].Reason}");
        }
        while (!status.Autoscaling[0].Scaled);

        Assert.True(status.Autoscaling[0].At <= due + Interval, "scaled in more than a pass late"); // a skipped tick costs one pass
        Assert.True(status.Autoscaling[0].At < restartedAt + TimeSpan.FromSeconds(60), "a fresh autoscaler would have waited a whole window from the restart");
        Assert.Equal(1, status.Autoscaling[0].DesiredReplicas);
    }

    [Fact]
    public void A_steady_component_is_not_stored_every_pass_but_every_change_a_restart_needs_is()
    {
        var t0 = DateTimeOffset.UnixEpoch;
        var stored = new AutoscalerMemory("web", 1, [new(t0, 4)], []);

        // Re-confirming the current count, or dropping expired entries: nothing to store.
        Assert.True(Bpi.Orchestration.Autoscaling.AutoscalingLoop.Unchanged(stored, new AutoscalerMemory("web", 1, [new(t0 + Interval, 4)], []), current: 4));
        Assert.True(Bpi.Orchestration.Autoscaling.AutoscalingLoop.Unchanged(new AutoscalerMemory("web", 1, [new(t0, 5), new(t0, 4)], []), stored, current: 4));

        // A recommendation below the count (a scale-in being held), a scale, a new revision: stored.
        Assert.False(Bpi.Orchestration.Autoscaling.AutoscalingLoop.Unchanged(stored, new AutoscalerMemory("web", 1, [new(t0, 4), new(t0 + Interval, 1)], []), current: 4));
        Assert.False(Bpi.Orchestration.Autoscaling.AutoscalingLoop.Unchanged(stored, new AutoscalerMemory("web", 1, [new(t0, 4)], [new(t0, 3)]), current: 4));
        Assert.False(Bpi.Orchestration.Autoscaling.AutoscalingLoop.Unchanged(stored, new AutoscalerMemory("web", 2, [new(t0, 4)], []), current: 4));
    }

    /// <summary>
    /// One autoscaler interval on; again when the pass did not come (a tick that finds the previous pass still storing
    /// its memory is skipped, as in production).
    /// </summary>
    private static async Task<DeploymentStatus> Tick(ManualTimeProvider clock, IOrchestrationVm vm, string id, Func<DeploymentStatus, bool> done, string what)
    {
        for (var attempt = 1; ; attempt++)
        {
            clock.Advance(Interval);
            try
            {
                return await Eventually.UntilAsync(() => vm.GetStatusAsync(id), done, what, attempt < 3 ? TimeSpan.FromSeconds(10) : null);
            }
            catch (TimeoutException) when (attempt < 3)
            {
            }
        }
    }

    private static Task<DeploymentStatus> Settle(ManualTimeProvider clock, IOrchestrationVm vm, string id)
        => clock.RunUntilAsync(vm.WaitUntilSettledAsync(id, TestHost.Timeout()), cancellationToken: TestHost.Timeout());

    private static ServiceProvider Build(ManualTimeProvider clock, IDeploymentStore store, InMemoryWorkloadRuntime runtime)
    {
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = "vm-test").UseTimeProvider(clock).UseDeploymentStore(store);
        services.AddSingleton<IWorkloadRuntime>(runtime);
        return services.BuildServiceProvider();
    }
}
