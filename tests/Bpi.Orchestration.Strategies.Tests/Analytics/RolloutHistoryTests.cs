using System.Diagnostics.Metrics;
using Bpi.Orchestration.Telemetry;
using Bpi.Orchestration.Strategies.Canary;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Bpi.Orchestration.Strategies.Tests.Analytics;

public sealed class RolloutHistoryTests
{
    [Fact]
    public async Task Rollouts_are_reported_with_active_and_paused_time_outcome_and_rollbacks_and_feed_the_DORA_figures()
    {
        // A window far wider than the test's clock can move: SettleAsync drives the clock a second per turn while the
        // rollout runs on another thread, so under load a settle can take weeks of test time (once 41 days, which left
        // four of the five rollouts outside the default 30-day window). The figures are checked against this window.
        var window = TimeSpan.FromDays(3650);
        await using var host = new TestHost(extra: b => b.Services.Configure<OrchestrationOptions>(o => o.DoraWindow = window));
        var paused = new CanaryStrategySpec { Steps = [new CanaryStep.SetWeight(50), new CanaryStep.Pause(null)] };
        var id = await host.Vm.DeployAsync(Specs.Web(2, "web:1", paused));
        await host.SettleAsync(id);

        // 2: promoted after ten minutes of waiting for promotion.
        await host.Vm.UpdateAsync(id, Specs.Web(2, "web:2", paused));
        await host.DriveAsync(host.WaitForStateAsync(id, DeploymentState.Paused));
        host.Clock.Advance(TimeSpan.FromMinutes(10));
        await host.Vm.PromoteAsync(id);
        await host.SettleAsync(id);

        // 3: fails to start and is rolled back.
        host.Runtime.Faults.FailStart(r => r.Revision == 3);
        await host.Vm.UpdateAsync(id, Specs.Web(2, "web:3", paused));
        await host.SettleAsync(id);

        // 4: aborted while it waits.
        await host.Vm.UpdateAsync(id, Specs.Web(2, "web:4", paused));
        await host.DriveAsync(host.WaitForStateAsync(id, DeploymentState.Paused));
        await host.Vm.AbortAsync(id);
        await host.SettleAsync(id);
        host.Clock.Advance(TimeSpan.FromHours(1));

        // 5: the fix, promoted.
        await host.Vm.UpdateAsync(id, Specs.Web(2, "web:5", paused));
        await host.DriveAsync(host.WaitForStateAsync(id, DeploymentState.Paused));
        await host.Vm.PromoteAsync(id);
        await host.SettleAsync(id);

        var rollouts = await host.Vm.GetRolloutHistoryAsync(id);
        Assert.Equal([RolloutOutcome.Promoted, RolloutOutcome.Promoted, RolloutOutcome.RolledBack, RolloutOutcome.Aborted, RolloutOutcome.Promoted], rollouts.Select(r => r.Outcome));
        Assert.Equal([0, 0, 1, 1, 0], rollouts.Select(r => r.RollbackCount));
        Assert.Equal([1, 2, 3, 4, 5], rollouts.Select(r => r.Revision));
        Assert.All(rollouts, r => Assert.Equal("canary", r.Strategy));
        Assert.Null(rollouts[1].Reason);
        Assert.NotNull(rollouts[2].Reason);
        Assert.True(rollouts[1].PausedTime >= TimeSpan.FromMinutes(10));
        Assert.Equal(rollouts[1].Duration, rollouts[1].ActiveTime + rollouts[1].PausedTime);
        Assert.True(rollouts[1].Steps > 4);

        var dora = await host.Vm.GetDoraAsync("shop", "staging");
        Assert.Equal(5, dora.Rollouts);
        Assert.Equal(0.6, dora.SuccessRate, 3);
        Assert.Equal(0.4, dora.ChangeFailureRate, 3);
        Assert.Equal(3 / window.TotalDays, dora.DeploymentsPerDay, 9);
        Assert.NotNull(dora.LeadTime);
        Assert.True(dora.TimeToRestore >= TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task The_DORA_figures_are_published_as_gauges_by_app_and_environment()
    {
        await using var host = new TestHost();
        // An app id of its own: the listener hears every orchestrator in the process, and other tests deploy "shop".
        var id = await host.Vm.DeployAsync(Specs.Web(1, "web:1") with { AppId = "dora-gauges" });
        await host.SettleAsync(id);

        var seen = new Dictionary<string, double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name.StartsWith("bpi.orchestration.dora.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (tags.ToArray().Any(t => t.Key == "app.id" && (string?)t.Value == "dora-gauges"))
            {
                seen[instrument.Name] = value;
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.Equal(0.0, seen[OrchestrationTelemetryNames.DoraChangeFailureRate]);
        Assert.Equal(1 / 30.0, seen[OrchestrationTelemetryNames.DoraDeploymentFrequency], 6);
        Assert.True(seen.ContainsKey(OrchestrationTelemetryNames.DoraLeadTime));
    }
}
