using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Traffic;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Canary;

/// <summary>Canaries driven by the loop the Testing README documents: wait for a timer, advance one second, repeat.</summary>
public sealed class ManualClockCanaryTests
{
    private static readonly AnalysisSpec SuccessRate = new()
    {
        Name = "success-rate",
        Metrics =
        [
            new MetricSpec
            {
                Name = "success-rate",
                Query = new BuiltInMetricQuery(BuiltInMetric.SuccessRate) { Requests = 200 },
                SuccessCondition = MetricCondition.AtLeast(0.99),
                FailureCondition = MetricCondition.Below(0.95),
                Interval = TimeSpan.FromMinutes(1),
                Count = 3,
            },
        ],
    };

    [Fact]
    public async Task A_canary_with_analyses_around_a_timed_pause_is_promoted_in_50_of_50_runs_of_the_documented_drive_loop()
    {
        var strategy = new CanaryStrategySpec
        {
            Steps =
            [
                new CanaryStep.SetWeight(25), new CanaryStep.Analyze(SuccessRate), new CanaryStep.Pause(TimeSpan.FromMinutes(10)),
                new CanaryStep.SetWeight(50), new CanaryStep.Analyze(SuccessRate),
            ],
        };
        var outcomes = new List<string>();
        for (var run = 0; run < 50; run++)
        {
            await using var host = CanaryRolloutTests.NewHost();
            var id = await host.Vm.DeployAsync(Specs.Web(4, "web:1"));
            await DriveWithDocumentedLoopAsync(host, id, TimeSpan.FromMinutes(5));
            await host.Vm.UpdateAsync(id, Specs.Web(4, "web:2", strategy));

            // 3 + 10 + 3 minutes of analyses and pause: a clock that outruns the rollout exhausts this budget.
            var status = await DriveWithDocumentedLoopAsync(host, id, TimeSpan.FromMinutes(30));

            outcomes.Add(status is { State: DeploymentState.Running, StableRevision: 2 }
                ? "promoted"
                : $"run {run}: {status.State} at '{status.CurrentStep}' after {host.Clock.GetUtcNow():HH:mm:ss}");
            Assert.Equal(new Dictionary<int, int> { [2] = 100 }, host.Router.GetWeights(TrafficRoute.ForComponent(id, "web")));
        }

        Assert.All(outcomes, o => Assert.Equal("promoted", o));
    }

    /// <summary>The README's loop, verbatim: no status reads, no real-time delays; gives up when the clock budget is spent.</summary>
    private static async Task<DeploymentStatus> DriveWithDocumentedLoopAsync(TestHost host, string id, TimeSpan budget)
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var settled = host.Vm.WaitForStateAsync(id, s => s.IsSettled(), guard.Token);
        for (var advanced = TimeSpan.Zero; !settled.IsCompleted && advanced <= budget; advanced += TimeSpan.FromSeconds(1))
        {
            await Task.WhenAny(settled, host.Clock.WaitForTimersAsync(1, guard.Token));
            if (!settled.IsCompleted)
            {
                host.Clock.Advance(TimeSpan.FromSeconds(1));
            }
        }

        return settled.IsCompleted ? await settled : await host.Vm.GetStatusAsync(id);
    }
}
