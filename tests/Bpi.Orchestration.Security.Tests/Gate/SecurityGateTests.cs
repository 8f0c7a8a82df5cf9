using System.Diagnostics.Metrics;
using Bpi.Orchestration.Security.Gate;
using Bpi.Orchestration.Security.Monitoring;
using Bpi.Orchestration.Security.Telemetry;

namespace Bpi.Orchestration.Security.Tests.Gate;

public sealed class SecurityGateTests
{
    [Fact]
    public void Gate_refuses_a_score_below_the_environments_minimum()
    {
        var assessment = Assessment(6.5, []);
        var decision = SecurityGate.Judge(assessment, TestSpecs.Policy(p => { p.MinimumScore = 7; p.BlockingSeverity = null; }));
        Assert.False(decision.Passed);
        Assert.Contains("below the minimum 7.0", Assert.Single(decision.Reasons), StringComparison.Ordinal);
        Assert.True(SecurityGate.Judge(assessment, TestSpecs.Policy(p => { p.MinimumScore = 6.5; p.BlockingSeverity = null; })).Passed);
    }

    [Fact]
    public void Gate_refuses_a_finding_of_a_blocking_severity_whatever_the_score()
    {
        var finding = new SecurityFinding("BPI-SEC-009", "Runs as root", SecuritySeverity.High, ["web"], "web: runs as '0'", "fix");
        var assessment = Assessment(9.9, [finding]);
        Assert.False(SecurityGate.Judge(assessment, TestSpecs.Policy(p => p.BlockingSeverity = SecuritySeverity.High)).Passed);
        Assert.False(SecurityGate.Judge(assessment, TestSpecs.Policy(p => p.BlockingSeverity = SecuritySeverity.Medium)).Passed);
        Assert.True(SecurityGate.Judge(assessment, TestSpecs.Policy(p => p.BlockingSeverity = SecuritySeverity.Critical)).Passed);
        Assert.True(SecurityGate.Judge(assessment, TestSpecs.Policy(p => p.BlockingSeverity = null)).Passed);
    }

    [Fact]
    public async Task Production_requires_digest_pinning_and_refuses_the_seed_example_listing_its_findings()
    {
        await using var host = new SecurityTestHost();
        using var scope = OrchestrationActor.BeginScope(new OrchestrationActor { Id = "alice", Roles = ["admin"] });
        var error = await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.DeployAsync(TestSpecs.SeedExample("production")));
        Assert.Equal(OrchestrationErrorKind.SecurityValidationFailed, error.Kind);
        Assert.Contains(error.Errors, e => e.Contains("requires images pinned by digest", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("BPI-SEC-025 (Medium)", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("BPI-SEC-029 (Low)", StringComparison.Ordinal));
        Assert.Contains(host.Audit.Snapshot(), a => a.Action == "security.gate" && a.Outcome == "refused");
    }

    [Fact]
    public async Task A_hardened_spec_is_deployed_in_production_and_its_score_recorded()
    {
        await using var host = new SecurityTestHost();
        var status = await host.DeployAndSettleAsync(TestSpecs.Hardened("production"));
        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(10, status.SecurityScore);
    }

    [Fact]
    public async Task Gate_decisions_are_published_as_events_and_counted_in_metrics()
    {
        var environment = "metrics-" + Guid.NewGuid().ToString("N")[..8];
        var scans = 0L;
        var findings = new List<string>();
        var compliancePassed = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Bpi.Orchestration" && instrument.Name.StartsWith("bpi.orchestration.security.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var t = tags.ToArray().ToDictionary(k => k.Key, k => k.Value?.ToString());
            lock (findings)
            {
                if (instrument.Name == SecurityTelemetryNames.ScansCompleted && t.GetValueOrDefault("deployment.environment") == environment)
                {
                    scans += value;
                }
                else if (instrument.Name == SecurityTelemetryNames.Findings && t.GetValueOrDefault("security.check.id") == "BPI-SEC-021")
                {
                    findings.Add(t["security.severity"]!);
                }
                else if (instrument.Name == SecurityTelemetryNames.ComplianceChecksPassed && t.GetValueOrDefault("compliance.framework") == "pci-dss-4.0")
                {
                    compliancePassed += value;
                }
            }
        });
        listener.Start();

        await using var host = new SecurityTestHost(o => o.Environments[environment] = TestSpecs.Policy(p => p.BlockingSeverity = SecuritySeverity.High));
        await using var events = host.Get<ISecurityMonitor>().WatchAsync().GetAsyncEnumerator();
        var next = events.MoveNextAsync();
        var spec = TestSpecs.Hardened(environment).WithComponent(c => c with { Environment = new Dictionary<string, string> { ["DB_PASSWORD"] = "hunter2" } });
        await Assert.ThrowsAsync<OrchestrationException>(() => host.Vm.DeployAsync(spec));
        Assert.True(await next);
        Assert.Equal(SecurityEventKind.GateRefused, events.Current.Kind);
        Assert.Contains("BPI-SEC-021", events.Current.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", events.Current.Message, StringComparison.Ordinal);
        lock (findings)
        {
            Assert.Equal(1, scans);
            Assert.Contains("high", findings);
            Assert.True(compliancePassed > 0);
        }
    }

    [Fact]
    public async Task The_gate_result_lists_the_reasons_first_then_every_finding()
    {
        await using var host = new SecurityTestHost();
        var gate = host.Get<ISecurityGate>();
        var result = await gate.EvaluateAsync(TestSpecs.SeedExample("production"));
        Assert.False(result.Passed);
        Assert.StartsWith("environment 'production' requires images pinned by digest", result.Findings[0], StringComparison.Ordinal);
        Assert.Equal(["BPI-SEC-025", "BPI-SEC-026", "BPI-SEC-029", "BPI-SEC-030"], result.Findings.Skip(1).Select(f => f[..11]));
        var development = await gate.EvaluateAsync(TestSpecs.SeedExample("development"));
        Assert.True(development.Passed);
        Assert.Equal(4, development.Findings.Count);
    }

    private static SecurityAssessment Assessment(double score, IReadOnlyList<SecurityFinding> findings) => new()
    {
        Target = "web",
        Environment = "production",
        Source = ProfileSource.Spec,
        AssessedAt = DateTimeOffset.UnixEpoch,
        Score = score,
        Results = [],
        Findings = findings,
    };
}
