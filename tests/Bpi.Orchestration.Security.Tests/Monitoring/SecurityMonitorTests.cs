using Bpi.Orchestration.Security.Monitoring;
using Bpi.Orchestration.Security.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Security.Tests.Monitoring;

public sealed class SecurityMonitorTests
{
    [Fact]
    public async Task Running_deployments_are_reassessed_on_the_clock_and_drift_shows_as_finding_events()
    {
        var inspector = new ScriptedInspector();
        await using var host = new SecurityTestHost(
            o => o.ReassessmentInterval = TimeSpan.FromMinutes(10),
            extra: b => b.Services.AddSingleton<IContainerInspector>(inspector));
        var status = await host.DeployAndSettleAsync(TestSpecs.Hardened());
        inspector.Profile = ContainerProfiles.FromSpec(TestSpecs.Component()) with { Source = ProfileSource.Runtime, ContainerId = "c1" };

        var monitor = host.Get<SecurityMonitor>();
        await using var events = monitor.WatchAsync().GetAsyncEnumerator();
        var first = events.MoveNextAsync();
        await monitor.StartAsync(default);
        Assert.False(first.IsCompleted);

        host.Clock.Advance(TimeSpan.FromMinutes(10));
        Assert.True(await first);
        Assert.Equal(SecurityEventKind.Assessed, events.Current.Kind);
        Assert.Equal(status.Id, events.Current.DeploymentId);
        Assert.Equal(10, monitor.GetLatest(status.Id)!.Score);
        Assert.Equal(ProfileSource.Runtime, monitor.GetLatest(status.Id)!.Source);

        // Someone restarts the container privileged: the next tick reports it.
        inspector.Profile = inspector.Profile with { Privileged = true };
        var detected = Eventually.FirstAsync(events, e => e.Kind == SecurityEventKind.FindingDetected);
        host.Clock.Advance(TimeSpan.FromMinutes(10));
        var finding = (await detected).Finding!;
        Assert.Equal("BPI-SEC-001", finding.CheckId);
        Assert.Equal(3.9, monitor.GetLatest(status.Id)!.Score);

        inspector.Profile = inspector.Profile with { Privileged = false };
        var resolved = Eventually.FirstAsync(events, e => e.Kind == SecurityEventKind.FindingResolved);
        host.Clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal("BPI-SEC-001", (await resolved).Finding!.CheckId);

        await monitor.StopAsync(default);
        var audits = host.Audit.Snapshot().Where(a => a.Action == SecurityMonitor.AuditAction).ToList();
        Assert.Equal(3, audits.Count);
        Assert.Equal(["passed", "findings", "passed"], audits.Select(a => a.Outcome));
        Assert.Equal("BPI-SEC-001", audits[1].Data!["findings"]);
    }

    [Fact]
    public async Task Without_an_inspector_the_current_spec_is_reassessed()
    {
        await using var host = new SecurityTestHost(o => o.ReassessmentInterval = Timeout.InfiniteTimeSpan);
        var status = await host.DeployAndSettleAsync(TestSpecs.Hardened());
        var monitor = host.Get<ISecurityMonitor>();
        var assessment = await monitor.AssessDeploymentAsync(status.Id);
        Assert.Equal(ProfileSource.Spec, assessment.Source);
        Assert.Equal(status.Id, assessment.DeploymentId);
        var error = await Assert.ThrowsAsync<OrchestrationException>(() => monitor.AssessDeploymentAsync("nope").AsTask());
        Assert.Equal(OrchestrationErrorKind.NotFound, error.Kind);
    }

    [Fact]
    public async Task An_infinite_interval_starts_no_timer()
    {
        await using var host = new SecurityTestHost(o => o.ReassessmentInterval = Timeout.InfiniteTimeSpan);
        var before = host.Clock.ScheduledTimers;
        await host.Get<SecurityMonitor>().StartAsync(default);
        Assert.Equal(before, host.Clock.ScheduledTimers);
    }

    private sealed class ScriptedInspector : IContainerInspector
    {
        public ContainerProfile? Profile { get; set; }

        public ValueTask<IReadOnlyList<ContainerProfile>> InspectDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default)
            => ValueTask.FromResult<IReadOnlyList<ContainerProfile>>(Profile is null ? [] : [Profile]);
    }
}
