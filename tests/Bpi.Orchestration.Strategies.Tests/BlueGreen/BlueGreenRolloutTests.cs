using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.BlueGreen;
using Bpi.Orchestration.Strategies.Tests.Canary;
using Bpi.Orchestration.Traffic;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.BlueGreen;

public sealed class BlueGreenRolloutTests
{
    private static AnalysisSpec SuccessRate(int count = 1) => new()
    {
        Name = "success-rate",
        Metrics =
        [
            new MetricSpec
            {
                Name = "success-rate",
                Query = new BuiltInMetricQuery(BuiltInMetric.SuccessRate) { Requests = 50 },
                SuccessCondition = MetricCondition.AtLeast(0.95),
                Count = count,
                Interval = TimeSpan.FromMinutes(1),
            },
        ],
    };

    [Fact]
    public async Task An_abort_during_post_promotion_analysis_restores_blue_at_once_without_starting_an_instance()
    {
        await using var host = CanaryRolloutTests.NewHost();
        var strategy = new BlueGreenStrategySpec { PostPromotionAnalysis = SuccessRate(count: 10), ScaleDownDelay = TimeSpan.FromMinutes(1) };
        var id = await host.Vm.DeployAsync(Specs.Web(3, "web:1", strategy));
        await host.SettleAsync(id);
        var blue = host.Runtime.Snapshot().Where(i => i.Revision == 1).Select(i => i.InstanceId).Order().ToList();
        var inPostAnalysis = host.WaitForStepAsync(id, e => e.Kind == DeploymentEventKind.StepStarted && e.Message.Contains("post-promotion", StringComparison.Ordinal));

        await host.Vm.UpdateAsync(id, Specs.Web(3, "web:2", strategy));
        await inPostAnalysis;
        var created = host.Recorder.InstancesCreated;
        var switched = host.Router.GetWeights(TrafficRoute.ForComponent(id, "web"));
        await host.Vm.AbortAsync(id);
        var status = await host.SettleAsync(id);

        Assert.Equal(new Dictionary<int, int> { [2] = 100 }, switched);
        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.Equal(created, host.Recorder.InstancesCreated);
        Assert.Equal(new Dictionary<int, int> { [1] = 100 }, host.Router.GetWeights(TrafficRoute.ForComponent(id, "web")));
        Assert.Equal(blue, host.Runtime.Snapshot().Select(i => i.InstanceId).Order().ToList());
        Assert.Null(host.Router.GetRoute(PreviewRouteStep.ServiceId(id, "web")));
    }

    [Fact]
    public async Task Manual_promotion_waits_with_green_on_the_preview_route_and_blue_serving()
    {
        await using var host = CanaryRolloutTests.NewHost();
        var strategy = new BlueGreenStrategySpec { Promotion = BlueGreenPromotion.Manual, ScaleDownDelay = TimeSpan.FromSeconds(30) };
        var id = await host.Vm.DeployAsync(Specs.Web(2, "web:1", strategy));
        await host.SettleAsync(id);

        await host.Vm.UpdateAsync(id, Specs.Web(2, "web:2", strategy));
        await host.DriveAsync(host.WaitForStateAsync(id, DeploymentState.Paused));
        var preview = host.Router.GetWeights(PreviewRouteStep.ServiceId(id, "web"));
        var serving = host.Router.GetWeights(TrafficRoute.ForComponent(id, "web"));
        var greenReady = host.Runtime.Snapshot().Count(i => i.Revision == 2);
        await host.Vm.PromoteAsync(id);
        var status = await host.SettleAsync(id);

        Assert.Equal(new Dictionary<int, int> { [2] = 100 }, preview);
        Assert.Equal(new Dictionary<int, int> { [1] = 100 }, serving);
        Assert.Equal(2, greenReady);
        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(new Dictionary<int, int> { [2] = 100 }, host.Router.GetWeights(TrafficRoute.ForComponent(id, "web")));
        Assert.Null(host.Router.GetRoute(PreviewRouteStep.ServiceId(id, "web")));
        Assert.All(host.Runtime.Snapshot(), i => Assert.Equal(2, i.Revision));
    }

    [Fact]
    public async Task Traffic_switches_in_steps_with_a_duration_and_a_validation_at_each()
    {
        await using var host = CanaryRolloutTests.NewHost();
        var strategy = new BlueGreenStrategySpec
        {
            TrafficSteps =
            [
                new TrafficSwitchStep(25) { Duration = TimeSpan.FromMinutes(5), Analysis = SuccessRate() },
                new TrafficSwitchStep(50) { Duration = TimeSpan.FromMinutes(5), Analysis = SuccessRate() },
                new TrafficSwitchStep(100) { Duration = TimeSpan.FromMinutes(5), Analysis = SuccessRate() },
            ],
        };
        var id = await host.Vm.DeployAsync(Specs.Web(2, "web:1", strategy));
        await host.SettleAsync(id);

        await host.Vm.UpdateAsync(id, Specs.Web(2, "web:2", strategy));
        var status = await host.SettleAsync(id, TimeSpan.FromMinutes(1));

        Assert.Equal(DeploymentState.Running, status.State);
        var green = host.Router.History.Where(r => r.ServiceId == TrafficRoute.ForComponent(id, "web")).Select(r => r.Backends.FirstOrDefault(b => b.Revision == 2)?.Weight ?? 0).ToList();
        Assert.Equal([0, 25, 50, 100], green.Distinct());
        Assert.Equal(3, host.Audit.Snapshot().Count(e => e.Action == "analysis.run" && e.Outcome == "successful"));
    }

    [Fact]
    public async Task Pause_and_resume_during_a_traffic_step_keep_the_rollouts_place()
    {
        await using var host = CanaryRolloutTests.NewHost();
        var strategy = new BlueGreenStrategySpec { TrafficSteps = [new TrafficSwitchStep(25) { Duration = TimeSpan.FromMinutes(10) }, new TrafficSwitchStep(100)] };
        var id = await host.Vm.DeployAsync(Specs.Web(2, "web:1", strategy));
        await host.SettleAsync(id);
        var holding = host.WaitForStepAsync(id, e => e.Kind == DeploymentEventKind.StepStarted && e.StepKind == "pause");

        await host.Vm.UpdateAsync(id, Specs.Web(2, "web:2", strategy));
        await holding;
        await host.Vm.PauseAsync(id);
        host.Clock.Advance(TimeSpan.FromHours(1));
        var paused = await host.Vm.GetStatusAsync(id);
        var weights = host.Router.GetWeights(TrafficRoute.ForComponent(id, "web"));
        await host.Vm.ResumeAsync(id);
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Paused, paused.State);
        Assert.Equal(new Dictionary<int, int> { [1] = 75, [2] = 25 }, weights);
        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(1, host.Audit.Snapshot().Count(e => e.Action == "rollout.step.started" && e.Data!["step"] == "route web: revision 1 75%, revision 2 25%"));
    }

    [Fact]
    public async Task A_failing_pre_promotion_analysis_rolls_back_before_any_traffic_reaches_green()
    {
        await using var host = CanaryRolloutTests.NewHost();
        var strategy = new BlueGreenStrategySpec { PrePromotionAnalysis = SuccessRate() };
        var id = await host.Vm.DeployAsync(Specs.Web(2, "web:1", strategy));
        await host.SettleAsync(id);
        host.Runtime.Faults.RespondWith(r => r.Revision == 2, errorRate: 0.5);

        await host.Vm.UpdateAsync(id, Specs.Web(2, "web:2", strategy));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.DoesNotContain(host.Router.History.Where(r => r.ServiceId == TrafficRoute.ForComponent(id, "web")), r => r.Backends.Any(b => b.Revision == 2 && b.Weight > 0));
        Assert.All(host.Runtime.Snapshot(), i => Assert.Equal(1, i.Revision));
    }

    [Fact]
    public void After_blue_is_scaled_down_the_rollback_brings_it_back_first()
    {
        var strategy = new BlueGreenStrategySpec();
        var context = new Rollout.RolloutContext("d", new Rollout.RevisionSpec(1, Specs.Web(2, "web:1", strategy)), new Rollout.RevisionSpec(2, Specs.Web(2, "web:2", strategy)), true);
        var plan = new BlueGreenStrategy().Plan(context);

        var early = new BlueGreenStrategy().PlanRollback(context, 2);
        var late = new BlueGreenStrategy().PlanRollback(context, plan.Steps.Count - 1);

        Assert.Equal("route web: revision 1 100%", early.Steps[0].Describe());
        Assert.Equal("scale web revision 1 to 2", late.Steps[0].Describe());
    }
}
