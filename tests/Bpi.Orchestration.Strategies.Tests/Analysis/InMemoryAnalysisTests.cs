using Bpi.Orchestration.Strategies.Analysis;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Strategies.Telemetry;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Analysis;

/// <summary>Canary analysis on the in-memory runtime, with no request sender brought by the test.</summary>
public sealed class InMemoryAnalysisTests
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

    private static readonly CanaryStrategySpec Canary = new() { Steps = [new CanaryStep.SetWeight(25), new CanaryStep.Analyze(SuccessRate), new CanaryStep.SetWeight(50)] };

    [Fact]
    public async Task A_canary_whose_v2_fails_30_percent_of_simulated_requests_is_rolled_back_with_no_sender_configured()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Specs.Web(4, "web:1", Canary));
        await host.SettleAsync(id);
        host.Runtime.Faults.RespondWith(r => r.Revision == 2, errorRate: 0.3);

        await host.Vm.UpdateAsync(id, Specs.Web(4, "web:2", Canary));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.Contains("Analysis 'success-rate' of revision 2 ended Failed", status.Message, StringComparison.Ordinal);
        Assert.Equal(new Dictionary<int, int> { [1] = 100 }, host.Router.GetWeights(TrafficRoute.ForComponent(id, "web")));
    }

    [Fact]
    public async Task A_healthy_canary_is_measured_on_simulated_requests_and_promoted_with_no_sender_configured()
    {
        await using var host = new TestHost();
        var id = await host.Vm.DeployAsync(Specs.Web(4, "web:1", Canary));
        await host.SettleAsync(id);

        await host.Vm.UpdateAsync(id, Specs.Web(4, "web:2", Canary));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(2, status.StableRevision);
        Assert.Contains(host.Audit.Snapshot(), e => e.Action == "analysis.run" && e.Outcome == "successful");
    }

    [Fact]
    public async Task An_analysis_whose_requests_reach_no_instance_says_nothing_was_measured_instead_of_0_percent()
    {
        // The default HTTP sender cannot reach in-memory instances: what a host gets when it measures with a sender that cannot reach its instances.
        await using var host = new TestHost(extra: b => b.Services.Replace(ServiceDescriptor.Singleton<IInstanceRequestSender>(
            sp => new HttpInstanceRequestSender(sp.GetRequiredService<StrategiesHttp>(), sp.GetService<TimeProvider>() ?? TimeProvider.System))));
        var few = new AnalysisSpec { Name = "success-rate", Metrics = [SuccessRate.Metrics[0] with { Query = new BuiltInMetricQuery(BuiltInMetric.SuccessRate) { Requests = 3 }, Count = 1 }] };
        var canary = new CanaryStrategySpec { Steps = [new CanaryStep.SetWeight(25), new CanaryStep.Analyze(few)] };
        var id = await host.Vm.DeployAsync(Specs.Web(2, "web:1", canary));
        await host.SettleAsync(id);

        await host.Vm.UpdateAsync(id, Specs.Web(2, "web:2", canary));
        var status = await host.SettleAsync(id);

        Assert.Equal(DeploymentState.RolledBack, status.State);
        Assert.Contains("ended Error", status.Message, StringComparison.Ordinal);
        Assert.Contains("None of the 3 requests reached the running instances of revision 2", status.Message, StringComparison.Ordinal);
    }
}
