using Bpi.Orchestration.Rollout;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Tests.Rollout;

/// <summary>One handler per step type: a second one is an error unless it replaces the first explicitly.</summary>
public sealed class StepHandlerRegistrationTests
{
    [Fact]
    public async Task A_second_handler_for_a_step_type_fails_at_vm_construction_naming_both_and_the_fix()
    {
        await using var host = new TestHost(extra: b => b.AddStepHandler<InstantPauseHandler>());

        var error = Assert.Throws<OrchestrationException>(() => host.Vm);

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Contains("PauseStep", error.Message, StringComparison.Ordinal);
        Assert.Contains("PauseHandler", error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(InstantPauseHandler), error.Message, StringComparison.Ordinal);
        Assert.Contains("ReplaceStepHandler<PauseStep, InstantPauseHandler>()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_explicit_replacement_runs_instead_of_the_built_in_handler()
    {
        await using var host = new TestHost(extra: b => b.AddStrategy<PausingStrategy>().ReplaceStepHandler<PauseStep, InstantPauseHandler>());

        // PauseStep(null) waits for a promotion with Core's handler; the replacement returns at once.
        var id = await host.Vm.DeployAsync(Specs.Web() with { Strategy = new PausingSpec() });
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(1, host.Services.GetRequiredService<InstantPauseHandler>().Runs);
    }

    [Fact]
    public async Task Two_replacements_for_one_step_type_fail_at_vm_construction()
    {
        await using var host = new TestHost(extra: b => b.ReplaceStepHandler<PauseStep, InstantPauseHandler>().ReplaceStepHandler<PauseStep, OtherPauseHandler>());

        var error = Assert.Throws<OrchestrationException>(() => host.Vm);

        Assert.Contains(nameof(InstantPauseHandler), error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(OtherPauseHandler), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_replacement_whose_handler_executes_another_step_type_fails_at_vm_construction()
    {
        await using var host = new TestHost(extra: b => b.ReplaceStepHandler<AwaitReadyStep, InstantPauseHandler>());

        var error = Assert.Throws<OrchestrationException>(() => host.Vm);

        Assert.Contains("AwaitReadyStep", error.Message, StringComparison.Ordinal);
        Assert.Contains("PauseStep", error.Message, StringComparison.Ordinal);
    }

    private sealed record PausingSpec : StrategySpec
    {
        public override string Name => "pausing";
    }

    /// <summary>Brings the revision up, routes to it, then pauses until promoted.</summary>
    private sealed class PausingStrategy : IRolloutStrategy
    {
        public string Name => "pausing";

        public RolloutPlan Plan(RolloutContext context)
        {
            var component = context.Desired.Spec.Components[0];
            var n = context.Desired.Number;
            RolloutStep[] steps =
            [
                new ScaleRevisionStep(component.Id, n, component.Replicas),
                new AwaitReadyStep(component.Id, n, component.Replicas),
                new SetTrafficStep(component.Id, new Dictionary<int, int> { [n] = 100 }),
                new PauseStep(null),
            ];
            return new RolloutPlan(context.Desired.Spec.Name, RolloutKind.Rollout, Name, context.Stable?.Number, n, steps);
        }

        public RolloutPlan PlanRollback(RolloutContext context, int failedAtStep)
            => new(context.Desired.Spec.Name, RolloutKind.Rollback, Name, context.Stable?.Number, context.Desired.Number, [new ScaleRevisionStep(context.Desired.Spec.Components[0].Id, context.Desired.Number, 0)]);
    }

    internal sealed class InstantPauseHandler : RolloutStepHandler<PauseStep>
    {
        public int Runs { get; private set; }

        protected override ValueTask ExecuteAsync(PauseStep step, RolloutStepContext context, CancellationToken cancellationToken)
        {
            Runs++;
            return ValueTask.CompletedTask;
        }
    }

    internal sealed class OtherPauseHandler : RolloutStepHandler<PauseStep>
    {
        protected override ValueTask ExecuteAsync(PauseStep step, RolloutStepContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
