using Bpi.Orchestration.TestUtilities;
using Bpi.Orchestration.Tests.State;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Tests.Autoscaling;

/// <summary>
/// The autoscaler inside the orchestrator, on the in-memory runtime with a manual clock: measurements set by the test,
/// decisions applied as scale plans through the one executor, paused during a rollout, carried to a new revision.
/// </summary>
public sealed class AutoscalingLoopTests
{
    private static readonly TimeSpan Interval = new OrchestrationOptions().AutoscalingInterval;

    /// <summary>One component requesting half a core, autoscaled on 50 % CPU between 1 and 5 instances.</summary>
    internal static DeploymentSpec Autoscaled(int replicas = 1, string image = "web:1", TimeSpan? scaleDownWindow = null)
    {
        var spec = Specs.Web(replicas: replicas, image: image);
        return spec with
        {
            Components =
            [
                spec.Components[0] with
                {
                    Autoscaling = new AutoscalingSpec
                    {
                        MinReplicas = 1,
                        MaxReplicas = 5,
                        TargetCpuUtilizationPercent = 50,
                        ScaleDown = AutoscalingRules.DefaultScaleDown with { StabilizationWindow = scaleDownWindow ?? TimeSpan.FromSeconds(300) },
                    },
                },
            ],
        };
    }

    internal static async Task<DeploymentStatus> TickAsync(TestHost host, string id, Func<DeploymentStatus, bool> done, string what)
    {
        host.Clock.Advance(Interval);
        return await Eventually.UntilAsync(() => host.Vm.GetStatusAsync(id), done, what);
    }

    /// <summary>Deploys one autoscaled instance, waits until it runs, and starts watching its events.</summary>
    private static async Task<(string Id, IAsyncEnumerator<DeploymentEvent> Events)> DeployWatchedAsync(TestHost host, CancellationToken watching)
    {
        var id = await host.Vm.DeployAsync(Autoscaled(replicas: 1), watching);
        await host.SettleAsync(id);
        return (id, host.Vm.WatchAsync(id, watching).GetAsyncEnumerator(watching));
    }

    [Fact]
    public async Task Autoscaling_scales_out_through_an_audited_scale_plan_and_reports_its_decision()
    {
        await using var host = new TestHost();
        using var watching = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var (id, events) = await DeployWatchedAsync(host, watching.Token);

        // Each instance uses all the half core it requests: 100 % against a 50 % target asks for ceil(1 × 100 / 50) = 2.
        host.Runtime.SetUtilization(id, "web", cpuCores: 0.5);
        host.Clock.Advance(Interval);
        var scaled = await Eventually.FirstAsync(events, e => e.Kind == DeploymentEventKind.Autoscaled);
        Assert.Contains("from 1 to 2", scaled.Message, StringComparison.Ordinal);

        // At the target from now on, the count stays; the scale plan runs to the end.
        host.Runtime.SetUtilization(id, "web", cpuCores: 0.25);
        var status = await host.SettleAsync(id);
        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(2, status.Components[0].DesiredReplicas);
        Assert.Equal(2, host.Runtime.Snapshot().Count(i => i.State == Runtime.InstanceState.Running));

        var decision = Assert.Single(status.Autoscaling);
        Assert.Equal("web", decision.ComponentId);
        Assert.Equal(1, decision.Revision);

        var audit = Assert.Single(host.Audit.Snapshot(), e => e.Action == "deployment.scale");
        Assert.Equal("system", audit.Actor);
        Assert.Equal("2", audit.Data!["replicas"]);
        Assert.StartsWith("autoscaler: cpu 100% of 50% target asks for 2", audit.Data["reason"], StringComparison.Ordinal);

        // The next pass measures 50 % on 2 instances: within tolerance, no change.
        status = await TickAsync(host, id, s => s.Autoscaling.Single().At > decision.At, "a later decision");
        Assert.False(status.Autoscaling.Single().Scaled);
        Assert.Equal(50, status.Autoscaling.Single().Metrics.Single().Value, 3);
        Assert.Equal(2, status.Components[0].DesiredReplicas);
    }

    [Fact]
    public async Task The_autoscaled_event_is_published_only_once_the_decision_shows_in_status()
    {
        var store = new MemoryHoldingStore();
        await using var host = new TestHost(extra: b => b.UseDeploymentStore(store));
        using var releaseBeforeTheHostStops = store; // disposed first: a failed assertion must not leave the host's save held
        using var watching = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var (id, events) = await DeployWatchedAsync(host, watching.Token);

        // The pass queues a scale to 2, then stores the autoscaler's memory; the store holds that save.
        host.Runtime.SetUtilization(id, "web", cpuCores: 0.5);
        host.Clock.Advance(Interval);
        await store.Holding.WaitAsync(TimeSpan.FromSeconds(30));

        // The pass has not ended, so status shows no decision yet, and no Autoscaled event may announce one: every event
        // published so far is already in the watcher's channel, so reading until the channel is empty sees them all.
        Assert.Empty((await host.Vm.GetStatusAsync(id)).Autoscaling);
        var next = events.MoveNextAsync().AsTask();
        while (next.IsCompleted && await next)
        {
            Assert.NotEqual(DeploymentEventKind.Autoscaled, events.Current.Kind);
            next = events.MoveNextAsync().AsTask();
        }

        store.Release();
        var waiting = next;
        while (await waiting.WaitAsync(TimeSpan.FromSeconds(30)) && events.Current.Kind != DeploymentEventKind.Autoscaled)
        {
            waiting = events.MoveNextAsync().AsTask();
        }

        // Read on the event, status already holds the decision it announces.
        Assert.Equal(DeploymentEventKind.Autoscaled, events.Current.Kind);
        var decision = Assert.Single((await host.Vm.GetStatusAsync(id)).Autoscaling);
        Assert.True(decision.Scaled);
        Assert.Equal(2, decision.DesiredReplicas);
        await host.SettleAsync(id);
    }

    [Fact]
    public async Task Autoscaling_scales_in_only_after_the_scale_down_window()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Autoscaled(replicas: 3, scaleDownWindow: TimeSpan.FromSeconds(60)));
        await host.SettleAsync(id);

        // Idle: 10 % against 50 % asks for ceil(3 × 0.2) = 1, but the window remembers the 3 the autoscaler started from.
        host.Runtime.SetUtilization(id, "web", cpuCores: 0.05);
        var first = await TickAsync(host, id, s => s.Autoscaling.Count == 1, "a first decision");
        var started = first.Autoscaling[0].At;
        for (var t = Interval; t < TimeSpan.FromSeconds(60); t += Interval)
        {
            var held = await TickAsync(host, id, s => s.Autoscaling[0].At >= started + t, "a decision " + t);
            Assert.Equal(3, held.Autoscaling[0].DesiredReplicas);
            Assert.Contains("scale-down stabilisation window (60 s)", held.Autoscaling[0].Reason, StringComparison.Ordinal);
            Assert.Equal(3, held.Components[0].DesiredReplicas);
        }

        var scaled = await TickAsync(host, id, s => s.Autoscaling[0].Scaled, "the scale-in");
        Assert.Equal(1, scaled.Autoscaling[0].DesiredReplicas);
        Assert.Equal(started + TimeSpan.FromSeconds(60), scaled.Autoscaling[0].At);
        var status = await host.SettleAsync(id);
        Assert.Equal(1, status.Components[0].DesiredReplicas);
        Assert.Single(host.Runtime.Snapshot());
    }

    [Fact]
    public async Task Autoscaling_waits_while_a_rollout_runs()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Autoscaled(replicas: 1));
        await host.SettleAsync(id);

        // Revision 2's instances never become ready: its rollout keeps running (until the progress deadline).
        host.Runtime.Faults.UnhealthyAfter(r => r.Revision == 2, TimeSpan.Zero);
        await host.Vm.UpdateAsync(id, Autoscaled(replicas: 1, image: "web:2"));
        await host.Vm.WaitForStateAsync(id, s => s is DeploymentState.Deploying, TestHost.Timeout());
        host.Runtime.SetUtilization(id, "web", cpuCores: 1.0);

        for (var i = 1; i <= 3; i++)
        {
            var status = await TickAsync(host, id, s => s.Autoscaling.Count == 1 && s.Autoscaling[0].Reason.StartsWith("paused", StringComparison.Ordinal), "a paused decision");
            Assert.False(status.Autoscaling[0].Scaled);
            Assert.Equal(DeploymentState.Deploying, status.State);
        }

        Assert.DoesNotContain(host.Audit.Snapshot(), e => e.Action == "deployment.scale");
        Assert.Single(host.Runtime.Snapshot()); // recreate: revision 2's one unready instance, nothing added
    }

    [Fact]
    public async Task Autoscaling_carries_the_count_to_the_new_revision_once_it_serves()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Autoscaled(replicas: 1));
        await host.SettleAsync(id);
        host.Runtime.SetUtilization(id, "web", cpuCores: 1.0); // 200 %: ceil(1 × 4) = 4
        await TickAsync(host, id, s => s.Autoscaling.Count == 1 && s.Autoscaling[0].Scaled, "the scale-out");
        host.Runtime.SetUtilization(id, "web", cpuCores: 0.25); // at the target from now on
        Assert.Equal(4, (await host.SettleAsync(id)).Components[0].DesiredReplicas);

        // The update asks for 1 instance of revision 2, as its spec says; once it serves, the autoscaler brings it to 4.
        await host.Vm.UpdateAsync(id, Autoscaled(replicas: 1, image: "web:2"));
        var updated = await host.SettleAsync(id);
        Assert.Equal(2, updated.StableRevision);

        var carried = await TickAsync(host, id, s => s.Autoscaling[0].Revision == 2 && s.Autoscaling[0].Reason.StartsWith("carried", StringComparison.Ordinal), "the carried count");
        Assert.Equal("carried from revision 1", carried.Autoscaling[0].Reason);
        Assert.Equal(4, carried.Autoscaling[0].DesiredReplicas);
        var status = await host.SettleAsync(id);
        Assert.Equal(4, status.Components[0].DesiredReplicas);
        Assert.Equal(4, host.Runtime.Snapshot().Count(i => i.Revision == 2 && i.State == Runtime.InstanceState.Running));
        Assert.DoesNotContain(host.Runtime.Snapshot(), i => i.Revision == 1);
    }

    [Fact]
    public async Task Autoscaling_on_memory_alone_ignores_cpu_and_scales_by_resident_memory()
    {
        await using var host = new TestHost();
        var spec = Autoscaled(replicas: 1);
        spec = spec with { Components = [spec.Components[0] with { Autoscaling = new AutoscalingSpec { MaxReplicas = 4, TargetMemoryUtilizationPercent = 50 } }] };
        var id = await host.Vm.DeployAsync(spec);
        await host.SettleAsync(id);

        // Idle CPU, but each instance holds 192 MiB of its 256: 75 % against 50 % asks for ceil(1 × 1.5) = 2.
        host.Runtime.SetUtilization(id, "web", cpuCores: 0.0, memoryBytes: 192L * 1024 * 1024);
        var scaled = await TickAsync(host, id, s => s.Autoscaling.Count == 1 && s.Autoscaling[0].Scaled, "the scale-out");

        var reading = Assert.Single(scaled.Autoscaling[0].Metrics);
        Assert.Equal(("memory", 75.0, 50.0, 2), (reading.Name, reading.Value, reading.Target, reading.ProposedReplicas));
        host.Runtime.SetUtilization(id, "web", cpuCores: 0.0, memoryBytes: 128L * 1024 * 1024);
        Assert.Equal(2, (await host.SettleAsync(id)).Components[0].DesiredReplicas);
    }

    [Fact]
    public void Autoscaling_interval_must_be_positive()
    {
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.AutoscalingInterval = TimeSpan.Zero).AddInMemoryRuntime();
        using var provider = services.BuildServiceProvider();

        var problems = OptionsProblems.Of(Assert.ThrowsAny<Exception>(() => provider.GetRequiredService<IOrchestrationVm>()), typeof(OrchestrationOptions));

        Assert.Equal("OrchestrationOptions.AutoscalingInterval: 00:00:00 is not positive; use a duration greater than zero.", Assert.Single(problems));
    }
}
