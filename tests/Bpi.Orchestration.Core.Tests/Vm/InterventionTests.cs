using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Tests.Vm;

/// <summary>Pause, resume, abort, promote and approvals, driven through a test strategy whose plans hold those steps.</summary>
public sealed class InterventionTests
{
    [Fact]
    public async Task Pause_and_resume_keep_the_rollouts_place()
    {
        await using var host = NewHost();
        var id = await host.Vm.DeployAsync(Gated(new PauseStep(TimeSpan.FromMinutes(5))));
        await host.Clock.WaitForTimersAsync(1, TestHost.Timeout());

        await host.Vm.PauseAsync(id);
        var paused = await host.Vm.GetStatusAsync(id);
        host.Clock.Advance(TimeSpan.FromMinutes(10));
        var stillPaused = await host.Vm.GetStatusAsync(id);
        await host.Vm.ResumeAsync(id);
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Paused, paused.State);
        Assert.Equal(DeploymentState.Paused, stillPaused.State);
        Assert.StartsWith("4/6", paused.CurrentStep, StringComparison.Ordinal);
        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(1, host.Audit.Snapshot().Count(e => e.Action == "rollout.step.started" && e.Data!["step.index"] == "3"));
    }

    [Fact]
    public async Task A_step_held_back_by_a_pause_is_stamped_when_it_starts_and_one_that_follows_at_once_when_the_last_completed()
    {
        await using var host = NewHost();
        var id = await host.Vm.DeployAsync(Gated(new PauseStep(TimeSpan.FromMinutes(5))));
        await host.Clock.WaitForTimersAsync(1, TestHost.Timeout());
        await host.Vm.PauseAsync(id);
        var pausedAt = host.Clock.GetUtcNow();

        // The timed pause (step 3) ends after 5 minutes; step 4 waits for the person's resume at 10.
        host.Clock.Advance(TimeSpan.FromMinutes(10));
        var resumedAt = host.Clock.GetUtcNow();
        await host.Vm.ResumeAsync(id);
        await host.SettleAsync(id);

        var audit = host.Audit.Snapshot();
        DateTimeOffset At(string action, int step) => audit.Single(e => e.Action == action && e.Data!["step.index"] == step.ToString(System.Globalization.CultureInfo.InvariantCulture)).Timestamp;
        Assert.Equal(pausedAt + TimeSpan.FromMinutes(5), At("rollout.step.completed", 3));
        Assert.True(At("rollout.step.started", 4) >= resumedAt, $"step 4 started {At("rollout.step.started", 4):O}, before the resume at {resumedAt:O}");
        Assert.Equal(At("rollout.step.completed", 4), At("rollout.step.started", 5));
    }

    [Fact]
    public async Task The_step_context_shows_the_running_plan_and_lets_go_of_it_when_the_run_ends()
    {
        var seen = new CaptureContextHandler();
        await using var host = new TestHost(extra: b =>
        {
            b.AddStrategy<GatedStrategy>();
            b.Services.AddSingleton<IRolloutStepHandler>(seen);
        });
        var id = await host.Vm.DeployAsync(Gated(new CaptureContextStep()));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal("gated", seen.PlanDuringTheStep!.Strategy);
        Assert.Null(seen.Context!.Plan);
    }

    [Fact]
    public async Task Aborting_a_paused_rollout_rolls_back_without_waiting_for_a_resume()
    {
        await using var host = NewHost();
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 1) with { Strategy = new GatedSpec([]) });
        await host.SettleAsync(id);
        await host.Vm.UpdateAsync(id, Gated(new PauseStep(TimeSpan.FromMinutes(5))));
        await host.Clock.WaitForTimersAsync(1, TestHost.Timeout());
        await host.Vm.PauseAsync(id);

        await host.Vm.AbortAsync(id);
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.All(host.Runtime.Snapshot(), i => Assert.Equal(1, i.Revision));
    }

    [Fact]
    public async Task Promote_ends_a_pause_that_waits_for_promotion()
    {
        await using var host = NewHost();
        var id = await host.Vm.DeployAsync(Gated(new PauseStep(null)));
        await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Paused, TestHost.Timeout());

        await host.Vm.PromoteAsync(id);
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Running, status.State);
    }

    [Fact]
    public async Task Abort_rolls_back_to_the_stable_revision()
    {
        await using var host = NewHost();
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 2) with { Strategy = new GatedSpec([]) });
        await host.SettleAsync(id);
        await host.Vm.UpdateAsync(id, Gated(new PauseStep(null)));
        await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Paused, TestHost.Timeout());

        await host.Vm.AbortAsync(id);
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.Contains("aborted by system", status.Message, StringComparison.Ordinal);
        Assert.All(host.Runtime.Snapshot(), i => Assert.Equal(1, i.Revision));
        Assert.Equal(2, host.Runtime.Snapshot().Count(i => i.State == InstanceState.Running));
    }

    [Fact]
    public async Task An_approval_gate_waits_for_the_required_number_of_distinct_approvers()
    {
        await using var host = NewHost();
        var id = await host.Vm.DeployAsync(Gated(new AwaitApprovalStep(new ApprovalGate { Name = "prod", RequiredApprovals = 2 })));
        await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Paused, TestHost.Timeout());

        using (OrchestrationActor.BeginScope(new OrchestrationActor { Id = "alice" }))
        {
            await host.Vm.ApproveAsync(id, "prod", "looks good");
            await host.Vm.ApproveAsync(id, "prod", "twice does not count");
        }

        Assert.Equal(DeploymentState.Paused, (await host.Vm.GetStatusAsync(id)).State);
        using (OrchestrationActor.BeginScope(new OrchestrationActor { Id = "bob" }))
        {
            await host.Vm.ApproveAsync(id, "prod");
        }

        var status = await host.SettleAsync(id);
        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(["alice", "alice", "bob"], host.Audit.Snapshot().Where(e => e.Action == "approval.approve").Select(e => e.Actor));
    }

    [Fact]
    public async Task A_rejected_gate_fails_the_rollout()
    {
        await using var host = NewHost();
        var id = await host.Vm.DeployAsync(Gated(new AwaitApprovalStep("prod")));
        await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Paused, TestHost.Timeout());

        using (OrchestrationActor.BeginScope(new OrchestrationActor { Id = "carol" }))
        {
            await host.Vm.RejectAsync(id, "prod", "not during the sale");
        }

        var status = await host.SettleAsync(id);
        Assert.Equal(DeploymentState.Failed, status.State);
        Assert.Contains("rejected by carol: not during the sale", status.Message, StringComparison.Ordinal);
        Assert.Empty(host.Runtime.Snapshot());
    }

    [Fact]
    public async Task A_webhook_gate_without_the_strategies_package_fails_the_rollout_saying_what_to_add()
    {
        await using var host = NewHost();
        var id = await host.Vm.DeployAsync(Gated(new AwaitApprovalStep(new ApprovalGate { Name = "prod", Webhook = new Uri("https://gate.local/ok") })));

        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Failed, status.State);
        Assert.Contains("Approval gate 'prod' uses a webhook", status.Message, StringComparison.Ordinal);
        Assert.Contains(".AddStrategies()", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_approval_that_times_out_fails_the_rollout_on_the_manual_clock()
    {
        await using var host = NewHost();
        var id = await host.Vm.DeployAsync(Gated(new AwaitApprovalStep(new ApprovalGate { Name = "prod", Timeout = TimeSpan.FromHours(1) })));
        await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Paused, TestHost.Timeout());
        await host.Clock.WaitForTimersAsync(1, TestHost.Timeout());

        host.Clock.Advance(TimeSpan.FromHours(1));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Failed, status.State);
        Assert.Contains("was not approved within 01:00:00", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_approval_that_races_the_timeout_is_either_counted_and_wins_or_refused_never_lost()
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            await using var host = NewHost();
            var id = await host.Vm.DeployAsync(Gated(new AwaitApprovalStep(new ApprovalGate { Name = "prod", Timeout = TimeSpan.FromHours(1) })));
            await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Paused, TestHost.Timeout());
            await host.Clock.WaitForTimersAsync(1, TestHost.Timeout());

            host.Clock.Advance(TimeSpan.FromHours(1)); // the timeout fires while the approval arrives
            OrchestrationException? refused = null;
            try
            {
                await host.Vm.ApproveAsync(id, "prod", "just in time");
            }
            catch (OrchestrationException ex)
            {
                refused = ex;
            }

            var status = await host.SettleAsync(id);
            if (refused is null)
            {
                Assert.True(status.State == DeploymentState.Running, $"attempt {attempt}: the approval was accepted, but the rollout ended {status.State}: {status.Message}");
            }
            else
            {
                Assert.Equal(OrchestrationErrorKind.Conflict, refused.Kind);
                Assert.Equal(DeploymentState.Failed, status.State);
            }
        }
    }

    [Fact]
    public async Task Approving_a_gate_the_rollout_does_not_wait_at_is_a_conflict()
    {
        await using var host = NewHost();
        var id = await host.Vm.DeployAsync(Gated(new AwaitApprovalStep("prod")));
        await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Paused, TestHost.Timeout());

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.ApproveAsync(id, "staging"));

        Assert.Equal(OrchestrationErrorKind.Conflict, ex.Kind);
        Assert.Contains("waits at approval gate 'prod'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pausing_a_deployment_with_no_rollout_is_a_conflict()
    {
        await using var host = NewHost();
        var id = await host.Vm.DeployAsync(Specs.Web(replicas: 1));
        await host.SettleAsync(id);

        var ex = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.PauseAsync(id));

        Assert.Equal(OrchestrationErrorKind.Conflict, ex.Kind);
    }

    private static TestHost NewHost() => new(extra: b => b.AddStrategy<GatedStrategy>());

    /// <summary>A gate step that only lets its handler look at the step context.</summary>
    private sealed record CaptureContextStep : RolloutStep
    {
        public override string Kind => "capture";

        public override string Describe() => "capture the step context";
    }

    private sealed class CaptureContextHandler : RolloutStepHandler<CaptureContextStep>
    {
        public RolloutStepContext? Context { get; private set; }

        public RolloutPlan? PlanDuringTheStep { get; private set; }

        protected override ValueTask ExecuteAsync(CaptureContextStep step, RolloutStepContext context, CancellationToken cancellationToken)
        {
            Context = context;
            PlanDuringTheStep = context.Plan;
            return ValueTask.CompletedTask;
        }
    }

    private static DeploymentSpec Gated(RolloutStep gate) => Specs.Web(replicas: 2, image: "web:2") with { Strategy = new GatedSpec([gate]) };

    /// <summary>Brings the revision up, then runs the given gate steps, then routes traffic.</summary>
    private sealed record GatedSpec(IReadOnlyList<RolloutStep> Gates) : StrategySpec
    {
        public override string Name => "gated";
    }

    private sealed class GatedStrategy : IRolloutStrategy
    {
        public string Name => "gated";

        public RolloutPlan Plan(RolloutContext context)
        {
            var steps = new List<RolloutStep>();
            var component = context.Desired.Spec.Components[0];
            steps.Add(new ScaleRevisionStep(component.Id, context.Desired.Number, component.Replicas));
            steps.Add(new AwaitReadyStep(component.Id, context.Desired.Number, component.Replicas));
            steps.Add(new SetTrafficStep(component.Id, context.Stable is { } old
                ? new Dictionary<int, int> { [old.Number] = 100, [context.Desired.Number] = 0 }
                : new Dictionary<int, int> { [context.Desired.Number] = 100 }));
            steps.AddRange(((GatedSpec)context.Desired.Spec.Strategy).Gates);
            steps.Add(new SetTrafficStep(component.Id, new Dictionary<int, int> { [context.Desired.Number] = 100 }));
            if (context.Stable is { } stable)
            {
                steps.Add(new ScaleRevisionStep(component.Id, stable.Number, 0));
            }

            steps.Add(new AwaitReadyStep(component.Id, context.Desired.Number, component.Replicas));
            return new RolloutPlan(context.Desired.Spec.Name, RolloutKind.Rollout, Name, context.Stable?.Number, context.Desired.Number, steps);
        }

        public RolloutPlan PlanRollback(RolloutContext context, int failedAtStep)
        {
            var steps = new List<RolloutStep>();
            var component = context.Desired.Spec.Components[0];
            if (context.Stable is { } stable)
            {
                steps.Add(new SetTrafficStep(component.Id, new Dictionary<int, int> { [stable.Number] = 100 }));
            }
            else
            {
                steps.Add(new SetTrafficStep(component.Id, new Dictionary<int, int>()));
            }

            steps.Add(new ScaleRevisionStep(component.Id, context.Desired.Number, 0));
            return new RolloutPlan(context.Desired.Spec.Name, RolloutKind.Rollback, Name, context.Desired.Number, context.Stable?.Number ?? 0, steps);
        }
    }
}
