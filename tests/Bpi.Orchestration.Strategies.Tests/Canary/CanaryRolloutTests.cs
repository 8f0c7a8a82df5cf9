using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Strategies.Tests.Analysis;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Canary;

public sealed class CanaryRolloutTests
{
    private static readonly AnalysisSpec SuccessRate = new()
    {
        Name = "success-rate",
        Metrics =
        [
            new MetricSpec
            {
                Name = "success-rate",
                Query = new BuiltInMetricQuery(BuiltInMetric.SuccessRate) { Requests = 100 },
                SuccessCondition = MetricCondition.AtLeast(0.95),
                Interval = TimeSpan.FromMinutes(1),
                Count = 3,
            },
        ],
    };

    private static CanaryStrategySpec Steps(params CanaryStep[] steps) => new() { Steps = steps };

    [Fact]
    public async Task A_canary_failing_thirty_percent_of_requests_is_rolled_back_and_traffic_returns_to_stable()
    {
        await using var host = NewHost();
        var strategy = Steps(new CanaryStep.SetWeight(20), new CanaryStep.Analyze(SuccessRate), new CanaryStep.SetWeight(50), new CanaryStep.Pause(TimeSpan.FromMinutes(5)));
        var id = await host.Vm.DeployAsync(Specs.Web(4, "web:1", strategy));
        await host.SettleAsync(id);
        host.Runtime.Faults.RespondWith(r => r.Revision == 2, errorRate: 0.3, latency: TimeSpan.FromMilliseconds(50));

        await host.Vm.UpdateAsync(id, Specs.Web(4, "web:2", strategy));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.Contains("Analysis 'success-rate' of revision 2 ended Failed", status.Message, StringComparison.Ordinal);
        Assert.Equal(new Dictionary<int, int> { [1] = 100 }, host.Router.GetWeights(TrafficRoute.ForComponent(id, "web")));
        Assert.DoesNotContain(host.Router.History, r => r.Backends.Any(b => b.Revision == 2 && b.Weight == 50));
        Assert.All(host.Runtime.Snapshot(), i => Assert.Equal(1, i.Revision));
        Assert.Equal(4, host.Runtime.Snapshot().Count);
        Assert.Contains(host.Audit.Snapshot(), e => e.Action == "analysis.run" && e.Outcome == "failed");
    }

    [Fact]
    public async Task A_healthy_canary_is_promoted_through_every_step()
    {
        await using var host = NewHost();
        var strategy = Steps(
            new CanaryStep.SetWeight(25),
            new CanaryStep.Pause(TimeSpan.FromMinutes(1)),
            new CanaryStep.Analyze(SuccessRate),
            new CanaryStep.SetWeight(50),
            new CanaryStep.Pause(null),
            new CanaryStep.SetWeight(75));
        var id = await host.Vm.DeployAsync(Specs.Web(4, "web:1", strategy));
        await host.SettleAsync(id);
        host.Runtime.Faults.RespondWith(r => r.Revision == 2, errorRate: 0.0, latency: TimeSpan.FromMilliseconds(50));

        await host.Vm.UpdateAsync(id, Specs.Web(4, "web:2", strategy));
        await host.DriveAsync(host.WaitForStateAsync(id, DeploymentState.Paused));

        var midway = host.Router.GetWeights(TrafficRoute.ForComponent(id, "web"));
        await host.Vm.PromoteAsync(id);
        var status = await host.SettleAsync(id);

        Assert.Equal(new Dictionary<int, int> { [1] = 50, [2] = 50 }, midway);
        Assert.Equal(DeploymentState.Running, status.State);
        var weights = host.Router.History.Select(r => r.Backends.FirstOrDefault(b => b.Revision == 2)?.Weight ?? 0).Distinct().ToList();
        Assert.Equal([0, 25, 50, 75, 100], weights);
        Assert.Equal(new Dictionary<int, int> { [2] = 100 }, host.Router.GetWeights(TrafficRoute.ForComponent(id, "web")));
        Assert.All(host.Runtime.Snapshot(), i => Assert.Equal(2, i.Revision));
        Assert.Contains(host.Audit.Snapshot(), e => e.Action == "analysis.run" && e.Outcome == "successful");
    }

    [Fact]
    public async Task A_slower_canary_within_the_fixed_threshold_is_failed_by_the_statistical_judge()
    {
        await using var host = NewHost();
        var analysis = new AnalysisSpec
        {
            Name = "latency",
            Metrics =
            [
                new MetricSpec
                {
                    Name = "p99",
                    Query = new BuiltInMetricQuery(BuiltInMetric.LatencyP99) { Requests = 100 },
                    SuccessCondition = MetricCondition.AtMost(500),
                },
            ],
            Judge = new StatisticalJudgeSpec { SamplesPerRevision = 200 },
        };
        var strategy = Steps(new CanaryStep.SetWeight(25), new CanaryStep.Analyze(analysis));
        host.Runtime.Faults.RespondWith(r => r.Revision == 1, errorRate: 0, latency: TimeSpan.FromMilliseconds(100));
        var id = await host.Vm.DeployAsync(Specs.Web(4, "web:1", strategy));
        await host.SettleAsync(id);
        host.Runtime.Faults.RespondWith(r => r.Revision == 2, errorRate: 0, latency: TimeSpan.FromMilliseconds(130));

        await host.Vm.UpdateAsync(id, Specs.Web(4, "web:2", strategy));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.Contains("p99 Successful", status.Message, StringComparison.Ordinal);
        Assert.Contains("judge Failed", status.Message, StringComparison.Ordinal);
        Assert.Contains("latency High", status.Message, StringComparison.Ordinal);
        Assert.Equal(new Dictionary<int, int> { [1] = 100 }, host.Router.GetWeights(TrafficRoute.ForComponent(id, "web")));
    }

    [Fact]
    public async Task Without_a_router_weights_are_approximated_by_the_replica_ratio_and_the_status_says_so()
    {
        await using var host = NewHost(router: false);
        var strategy = Steps(new CanaryStep.SetWeight(25), new CanaryStep.Pause(null));
        var id = await host.Vm.DeployAsync(Specs.Web(4, "web:1", strategy));
        await host.SettleAsync(id);

        await host.Vm.UpdateAsync(id, Specs.Web(4, "web:2", strategy));
        await host.DriveAsync(host.WaitForStateAsync(id, DeploymentState.Paused));
        var paused = await host.Vm.GetStatusAsync(id);
        var counts = host.Runtime.Snapshot().GroupBy(i => i.Revision).ToDictionary(g => g.Key, g => g.Count());
        await host.Vm.PromoteAsync(id);
        var status = await host.SettleAsync(id);

        var web = Assert.Single(paused.Components);
        Assert.True(web.WeightsApproximated);
        Assert.Equal(new Dictionary<int, int> { [1] = 75, [2] = 25 }, web.TrafficWeights);
        Assert.Equal(new Dictionary<int, int> { [1] = 3, [2] = 1 }, counts);
        Assert.Equal(DeploymentState.Running, status.State);
        Assert.All(host.Runtime.Snapshot(), i => Assert.Equal(2, i.Revision));
    }

    [Fact]
    public async Task An_inconclusive_analysis_pauses_for_a_person_and_resume_continues()
    {
        await using var host = NewHost();
        var analysis = new AnalysisSpec
        {
            Name = "grey",
            Metrics = [new MetricSpec { Name = "rate", Query = new BuiltInMetricQuery(BuiltInMetric.SuccessRate), SuccessCondition = MetricCondition.AtLeast(0.99), FailureCondition = MetricCondition.AtMost(0.5) }],
        };
        var strategy = Steps(new CanaryStep.SetWeight(50), new CanaryStep.Analyze(analysis));
        var id = await host.Vm.DeployAsync(Specs.Web(2, "web:1", strategy));
        await host.SettleAsync(id);
        host.Runtime.Faults.RespondWith(r => r.Revision == 2, errorRate: 0.1);

        await host.Vm.UpdateAsync(id, Specs.Web(2, "web:2", strategy));
        await host.DriveAsync(host.WaitForStateAsync(id, DeploymentState.Paused));
        var analysisRun = host.Audit.Snapshot().Single(e => e.Action == "analysis.run");
        await host.Vm.ResumeAsync(id);
        var status = await host.SettleAsync(id);

        Assert.Equal("inconclusive", analysisRun.Outcome);
        Assert.Equal(DeploymentState.Running, status.State);
    }

    [Fact]
    public async Task Unhealthy_canary_instances_above_the_trigger_roll_the_rollout_back_during_a_pause()
    {
        await using var host = NewHost();
        var strategy = Steps(new CanaryStep.SetWeight(50), new CanaryStep.Pause(TimeSpan.FromHours(1)));
        var id = await host.Vm.DeployAsync(Specs.Web(2, "web:1", strategy));
        await host.SettleAsync(id);
        host.Runtime.Faults.UnhealthyAfter(r => r.Revision == 2, TimeSpan.FromMinutes(5));

        var updatedAt = host.Clock.GetUtcNow();
        await host.Vm.UpdateAsync(id, Specs.Web(2, "web:2", strategy) with { Rollback = new RollbackSettings { HealthFailureRateTrigger = 0.5 } });
        await host.Clock.WaitForTimersAsync(3, TestHost.Timeout()); // the pause, the health watch and the fault
        var status = await host.DriveAsync(host.WaitForStateAsync(id, DeploymentState.RolledBack), TimeSpan.FromSeconds(30), minTimers: 2);

        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.Contains("Health failure rate 100%", status.Message, StringComparison.Ordinal);
        Assert.True(host.Clock.GetUtcNow() - updatedAt < TimeSpan.FromMinutes(30), $"rolled back after {host.Clock.GetUtcNow() - updatedAt}");
    }

    [Fact]
    public void The_shorthand_expands_to_weights_with_analysis_and_interval_up_to_the_maximum()
    {
        var spec = new CanaryStrategySpec { StepWeight = 20, MaxWeight = 50, Interval = TimeSpan.FromMinutes(2), Analysis = SuccessRate };

        var steps = spec.EffectiveSteps();

        Assert.Equal([20, 40, 50], steps.OfType<CanaryStep.SetWeight>().Select(s => s.Weight));
        Assert.Equal(3, steps.OfType<CanaryStep.Analyze>().Count());
        Assert.All(steps.OfType<CanaryStep.Pause>(), p => Assert.Equal(TimeSpan.FromMinutes(2), p.Duration));
    }

    [Fact]
    public async Task A_dry_run_shows_the_canary_plan_without_touching_anything()
    {
        await using var host = NewHost();
        var strategy = Steps(new CanaryStep.SetWeight(10), new CanaryStep.Pause(null));
        var id = await host.Vm.DeployAsync(Specs.Web(4, "web:1", strategy));
        await host.SettleAsync(id);
        var before = host.Runtime.Snapshot().Count;

        var plan = await host.Vm.PlanAsync(Specs.Web(4, "web:2", strategy), id);

        Assert.Equal(
            [
                "scale web revision 2 to 1",
                "wait for 1 ready instance of web revision 2",
                "route web: revision 1 90%, revision 2 10%",
                "pause until promoted",
                "scale web revision 2 to 4",
                "wait for 4 ready instances of web revision 2",
                "route web: revision 2 100%",
                "scale web revision 1 to 0",
            ],
            plan.Steps.Select(s => s.Describe()));
        Assert.Equal(before, host.Runtime.Snapshot().Count);
    }

    [Fact]
    public void Validation_lists_every_canary_problem()
    {
        var spec = Specs.Web(2, strategy: new CanaryStrategySpec
        {
            Steps = [new CanaryStep.SetWeight(50), new CanaryStep.SetWeight(20), new CanaryStep.SetWeight(120), new CanaryStep.Analyze(new AnalysisSpec { Name = "" })],
            StepWeight = 10,
        });

        var errors = spec.Validate();

        Assert.Contains(errors, e => e.Contains("not both", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("steps[1].weight: 20 is lower", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("steps[2].weight: 120 must be 0-100", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("steps[3].analysis.name: is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("steps[3].analysis: needs at least one metric", StringComparison.Ordinal));
    }

    internal static TestHost NewHost(bool router = true, Action<IOrchestrationBuilder>? extra = null)
        => new(router: router, extra: b =>
        {
            b.UseRequestSender<SimulatedRequestSender>();
            extra?.Invoke(b);
        });
}
