using Xunit;

namespace Bpi.Orchestration.Tests.Vm;

public sealed class WatchTests
{
    [Fact]
    public async Task Watch_yields_every_transition_of_a_rollout_in_order()
    {
        await using var host = new TestHost();
        using var stop = new CancellationTokenSource();
        var events = host.Vm.WatchAsync(cancellationToken: stop.Token);
        var collected = new List<DeploymentEvent>();
        var reader = Task.Run(async () =>
        {
            await foreach (var e in events)
            {
                collected.Add(e);
                if (e is { Kind: DeploymentEventKind.StateChanged } && e.State.IsSettled())
                {
                    return;
                }
            }
        });

        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 2));
        await reader.WaitAsync(TestHost.Timeout());

        Assert.All(collected, e => Assert.Equal(id, e.DeploymentId));
        Assert.Equal(collected.Select(e => e.Sequence).Order(), collected.Select(e => e.Sequence));
        // A slot was free, so the rollout never waited in the queue: Pending goes straight to Deploying.
        Assert.Equal(
            [DeploymentState.Pending, DeploymentState.Deploying, DeploymentState.Running],
            collected.Where(e => e.Kind == DeploymentEventKind.StateChanged).Select(e => e.State));
        var steps = collected.Where(e => e.Kind is DeploymentEventKind.StepStarted or DeploymentEventKind.StepCompleted).ToList();
        Assert.Equal(6, steps.Count);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal((DeploymentEventKind.StepStarted, i), (steps[2 * i].Kind, steps[2 * i].StepIndex!.Value));
            Assert.Equal((DeploymentEventKind.StepCompleted, i), (steps[(2 * i) + 1].Kind, steps[(2 * i) + 1].StepIndex!.Value));
        }

        Assert.Equal(["scale", "await-ready", "set-traffic"], steps.Where(s => s.Kind == DeploymentEventKind.StepStarted).Select(s => s.StepKind));
    }

    [Fact]
    public async Task A_rollout_that_waits_for_a_slot_is_Queued_first()
    {
        await using var host = new TestHost(o => o.MaxConcurrentDeployments = 1, r => r.StartDelay = TimeSpan.FromSeconds(5));
        var first = await host.Vm.DeployAsync(Specs.Web(replicas: 1, name: "first"));
        using var stop = new CancellationTokenSource();
        var events = host.Vm.WatchAsync(cancellationToken: stop.Token);
        var states = new List<DeploymentState>();
        string? second = null;
        var reader = Task.Run(async () =>
        {
            await foreach (var e in events)
            {
                if (e.Kind == DeploymentEventKind.StateChanged && e.DeploymentId != first)
                {
                    states.Add(e.State);
                    if (e.State.IsSettled())
                    {
                        return;
                    }
                }
            }
        });

        second = await host.Vm.DeployAsync(Specs.Web(replicas: 1, name: "second"));
        await host.DriveAsync(host.Vm.WaitUntilSettledAsync(second, TestHost.Timeout()));
        await reader.WaitAsync(TestHost.Timeout());

        Assert.Equal([DeploymentState.Pending, DeploymentState.Queued, DeploymentState.Deploying, DeploymentState.Running], states);
    }

    [Fact]
    public async Task Watching_one_deployment_yields_only_its_events()
    {
        await using var host = new TestHost();
        var a = await host.Vm.DeployAsync(Specs.Web(replicas: 1, name: "a"));
        await host.SettleAsync(a);
        using var stop = new CancellationTokenSource();
        var events = host.Vm.WatchAsync(a, stop.Token);

        var b = await host.Vm.DeployAsync(Specs.Web(replicas: 1, name: "b"));
        await host.SettleAsync(b);
        await host.Vm.DestroyAsync(a);
        var seen = new List<DeploymentEvent>();
        await foreach (var e in events)
        {
            seen.Add(e);
            if (e.State == DeploymentState.Destroyed)
            {
                break;
            }
        }

        Assert.All(seen, e => Assert.Equal(a, e.DeploymentId));
        Assert.Equal([DeploymentState.Destroying, DeploymentState.Destroyed], seen.Where(e => e.Kind == DeploymentEventKind.StateChanged).Select(e => e.State));
    }
}
