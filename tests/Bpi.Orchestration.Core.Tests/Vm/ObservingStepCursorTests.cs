using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Testing;
using Bpi.Orchestration.Tests.State;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Tests.Vm;

/// <summary>
/// A readiness wait only observes, so its completion stores no cursor: a stop after it resumes at the wait (which changes
/// nothing when run again), and an abort after it rolls back from the step that was really under way.
/// </summary>
public sealed class ObservingStepCursorTests
{
    [Fact]
    public async Task A_stop_in_the_step_after_a_readiness_wait_resumes_at_the_wait_and_changes_no_instance()
    {
        var clock = new ManualTimeProvider();
        var store = new RecordingStore();
        using var runtime = new InMemoryWorkloadRuntime(timeProvider: clock);
        string id;
        string[] instances;
        var held = new HoldHandler();
        await using (var first = Build(clock, store, runtime, new HoldStrategy(), held))
        {
            var vm = first.GetRequiredService<IOrchestrationVm>();
            id = await vm.DeployAsync(HoldSpec());
            await clock.RunUntilAsync(held.Entered.Task, cancellationToken: TestHost.Timeout());
            instances = RunningIds(runtime);
            Assert.Equal(2, instances.Length);

            // Scale (0), wait until ready (1), hold (2): the wait completed but stored nothing; the cursor is at it.
            Assert.Equal([null, 0, 1], store.CursorsOf(id));
            await vm.StopAsync();
        }

        Assert.Equal(1, (await store.GetAsync(id))!.Cursor!.StepIndex);

        var released = new HoldHandler { Release = true };
        await using var second = Build(clock, store, runtime, new HoldStrategy(), released);
        var resumed = second.GetRequiredService<IOrchestrationVm>();
        await resumed.StartAsync();
        var status = await clock.RunUntilAsync(resumed.WaitUntilSettledAsync(id, TestHost.Timeout()), TimeSpan.FromSeconds(1), cancellationToken: TestHost.Timeout());

        Assert.True(status.State == DeploymentState.Running, status.Message);
        Assert.True(released.Entered.Task.IsCompleted);

        // The resume ran the wait again and then the hold: the same two instances, none replaced, none added.
        Assert.Equal(instances, RunningIds(runtime));
        Assert.Equal(2, runtime.Snapshot().Count);
    }

    [Fact]
    public async Task An_abort_in_the_step_after_a_readiness_wait_rolls_back_from_that_step_not_from_the_stored_cursor()
    {
        var clock = new ManualTimeProvider();
        var store = new RecordingStore();
        using var runtime = new InMemoryWorkloadRuntime(timeProvider: clock);
        var strategy = new HoldStrategy();
        var held = new HoldHandler();
        await using var provider = Build(clock, store, runtime, strategy, held);
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var id = await vm.DeployAsync(HoldSpec());
        await clock.RunUntilAsync(held.Entered.Task, cancellationToken: TestHost.Timeout());
        Assert.Equal(1, (await store.GetAsync(id))!.Cursor!.StepIndex);

        await vm.AbortAsync(id);
        var status = await clock.RunUntilAsync(vm.WaitUntilSettledAsync(id, TestHost.Timeout()), TimeSpan.FromSeconds(1), cancellationToken: TestHost.Timeout());

        // The hold (step 2) was under way: that is where the rollback plans from, and what its stored cursor says.
        Assert.NotEqual(DeploymentState.Running, status.State);
        Assert.Equal(2, strategy.RolledBackFrom);
        Assert.Equal(2, store.Saved.Single(r => r.Id == id && r.State == DeploymentState.RollingBack).Cursor!.FailedAtStep);
        Assert.Empty(runtime.Snapshot());
    }

    private static string[] RunningIds(InMemoryWorkloadRuntime runtime)
        => [.. runtime.Snapshot().Where(i => i.State == InstanceState.Running).Select(i => i.InstanceId).Order(StringComparer.Ordinal)];

    private static DeploymentSpec HoldSpec() => Specs.Web(replicas: 2) with { Strategy = new HoldSpecOfStrategy() };

    private static ServiceProvider Build(ManualTimeProvider clock, IDeploymentStore store, InMemoryWorkloadRuntime runtime, HoldStrategy strategy, HoldHandler handler)
    {
        // The runtime outlives each orchestrator, as a real engine does.
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = "vm-test")
            .UseTimeProvider(clock)
            .UseDeploymentStore(store);
        services.AddSingleton<IWorkloadRuntime>(runtime);
        services.AddSingleton<IRolloutStrategy>(strategy);
        services.AddSingleton<IRolloutStepHandler>(handler);
        return services.BuildServiceProvider();
    }

    private sealed record HoldSpecOfStrategy : StrategySpec
    {
        public override string Name => "hold";
    }

    /// <summary>A step that changes something and holds until released or cancelled.</summary>
    private sealed record HoldStep : RolloutStep
    {
        public override string Kind => "hold";

        public override string Describe() => "hold";
    }

    private sealed class HoldHandler : RolloutStepHandler<HoldStep>
    {
        public TaskCompletionSource<bool> Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Release { get; init; }

        protected override async ValueTask ExecuteAsync(HoldStep step, RolloutStepContext context, CancellationToken cancellationToken)
        {
            Entered.TrySetResult(true);
            if (!Release)
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            }
        }
    }

    /// <summary>Scale, wait until ready, hold; a rollback notes where it was planned from and scales the revision away.</summary>
    private sealed class HoldStrategy : IRolloutStrategy
    {
        public string Name => "hold";

        public int? RolledBackFrom { get; private set; }

        public RolloutPlan Plan(RolloutContext context)
        {
            var component = context.Desired.Spec.Components[0];
            return new RolloutPlan(context.Desired.Spec.Name, RolloutKind.Rollout, Name, context.Stable?.Number, context.Desired.Number,
            [
                new ScaleRevisionStep(component.Id, context.Desired.Number, component.Replicas),
                new AwaitReadyStep(component.Id, context.Desired.Number, component.Replicas),
                new HoldStep(),
            ]);
        }

        public RolloutPlan PlanRollback(RolloutContext context, int failedAtStep)
        {
            RolledBackFrom = failedAtStep;
            var component = context.Desired.Spec.Components[0];
            return new RolloutPlan(context.Desired.Spec.Name, RolloutKind.Rollback, Name, context.Desired.Number, context.Stable?.Number ?? 0,
                [new ScaleRevisionStep(component.Id, context.Desired.Number, 0)]);
        }
    }
}
