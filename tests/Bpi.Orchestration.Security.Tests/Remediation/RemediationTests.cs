using Bpi.Orchestration.Security.Remediation;
using Microsoft.Extensions.DependencyInjection;
using Keys = Bpi.Orchestration.Hardening.DockLockSettings;

namespace Bpi.Orchestration.Security.Tests.Remediation;

public sealed class RemediationTests
{
    private static DeploymentSpec Relaxed() => TestSpecs.Hardened().WithComponent(c => c.WithSettings(
        (Keys.NoNewPrivileges, "false"), (Keys.NoNewPrivileges + ".reason", "r"),
        (Keys.DropAllCapabilities, "false"), (Keys.DropAllCapabilities + ".reason", "r"),
        (Keys.ReadOnlyRootFilesystem, "false"), (Keys.ReadOnlyRootFilesystem + ".reason", "r"),
        (Keys.ResourceLimits, "false"), (Keys.ResourceLimits + ".reason", "r"),
        (Keys.PidsLimit, "unlimited"), (Keys.PidsLimit + ".reason", "r"),
        (Keys.NonRootUser, "false"), (Keys.NonRootUser + ".reason", "r"),
        (Keys.AddCapabilities, "SYS_ADMIN,NET_BIND_SERVICE"),
        (Keys.RestartPolicy, "no")) with
    {
        Image = "registry.example.com/shop/web:latest",
        Environment = new Dictionary<string, string> { ["API_TOKEN"] = "t0k3n", ["LOG_LEVEL"] = "info" },
    });

    [Fact]
    public async Task Safe_fixes_are_applied_risky_ones_proposed_and_reassessment_shows_the_improvement()
    {
        using var assessor = TestSpecs.Assessor();
        var result = await new SecurityRemediator(assessor).RemediateAsync(Relaxed());
        var applied = result.Actions.Where(a => a.Kind == RemediationKind.Applied).Select(a => a.CheckId).ToHashSet();
        Assert.Superset(new HashSet<string> { "BPI-SEC-003", "BPI-SEC-010", "BPI-SEC-011", "BPI-SEC-012", "BPI-SEC-013", "BPI-SEC-018", "BPI-SEC-019", "BPI-SEC-020", "BPI-SEC-030" }, applied);
        var proposed = result.Actions.Where(a => a.Kind == RemediationKind.Proposed).ToList();
        Assert.Contains(proposed, a => a.CheckId == "BPI-SEC-009" && a.Risk!.Contains("root", StringComparison.Ordinal));
        Assert.Contains(proposed, a => a.CheckId == "BPI-SEC-025");
        Assert.Contains(proposed, a => a.CheckId == "BPI-SEC-021");

        var settings = result.Hardened.Components[0].RuntimeSettings;
        Assert.DoesNotContain(Keys.ReadOnlyRootFilesystem, settings.Keys);
        Assert.DoesNotContain(Keys.ReadOnlyRootFilesystem + ".reason", settings.Keys);
        Assert.Equal("NET_BIND_SERVICE", settings[Keys.AddCapabilities]);
        Assert.Equal("256", settings[Keys.PidsLimit]);
        Assert.Equal("false", settings[Keys.NonRootUser]);

        // The proposals left open (root user, secret in env) are high findings, so the score stays capped at 6.9; the findings show the improvement.
        Assert.True(result.After.Score >= result.Before.Score);
        Assert.True(result.After.Findings.Sum(f => SecurityScore.WeightOf(f.Severity)) < result.Before.Findings.Sum(f => SecurityScore.WeightOf(f.Severity)));
        Assert.Equal(["BPI-SEC-009", "BPI-SEC-021", "BPI-SEC-025", "BPI-SEC-026"], result.After.Findings.Select(f => f.CheckId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Accepted_proposals_are_applied_too()
    {
        using var assessor = TestSpecs.Assessor();
        var options = new RemediationOptions();
        options.AcceptedProposals.UnionWith(["BPI-SEC-009", "BPI-SEC-021", "BPI-SEC-025", "BPI-SEC-026"]);
        options.ImageDigests["registry.example.com/shop/web:latest"] = TestSpecs.Digest;
        var result = await new SecurityRemediator(assessor).RemediateAsync(Relaxed(), options);
        Assert.Empty(result.After.Findings);
        Assert.Equal(10, result.After.Score);
        var component = result.Hardened.Components[0];
        Assert.Equal("t0k3n", component.Secrets["API_TOKEN"]);
        Assert.DoesNotContain("API_TOKEN", component.Environment.Keys);
        Assert.EndsWith("@" + TestSpecs.Digest, component.Image, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Remediation_never_lowers_the_score()
    {
        using var assessor = TestSpecs.Assessor();
        var remediator = new SecurityRemediator(assessor);
        foreach (var spec in new[] { TestSpecs.Hardened(), TestSpecs.SeedExample(), Relaxed(), TestSpecs.SeedExample("development") })
        {
            var result = await remediator.RemediateAsync(spec);
            Assert.True(result.After.Score >= result.Before.Score, spec.Name);
        }
    }

    [Fact]
    public async Task Applying_to_a_live_deployment_is_an_update_with_its_own_audit_entry()
    {
        await using var host = new SecurityTestHost();
        var relaxed = TestSpecs.Hardened().WithComponent(c => c.WithSettings((Keys.ReadOnlyRootFilesystem, "false"), (Keys.ReadOnlyRootFilesystem + ".reason", "cache")));
        var status = await host.DeployAndSettleAsync(relaxed);
        var result = await host.Get<SecurityRemediator>().RemediateAsync(relaxed);
        var revision = await SecurityRemediator.ApplyAsync(host.Vm, status.Id, result, host.Audit, host.Clock);
        Assert.Equal(2, revision);
        var entry = Assert.Single(host.Audit.Snapshot(), e => e.Action == SecurityRemediator.AuditAction);
        Assert.Equal("BPI-SEC-013", entry.Data!["checks"]);
        await host.DriveAsync(host.Vm.WaitForStateAsync(status.Id, s => s.IsSettled(), new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token));
        Assert.Equal(10, (await host.Vm.GetStatusAsync(status.Id)).SecurityScore);

        var nothing = await host.Get<SecurityRemediator>().RemediateAsync(result.Hardened);
        var error = await Assert.ThrowsAsync<OrchestrationException>(() => SecurityRemediator.ApplyAsync(host.Vm, status.Id, nothing));
        Assert.Equal(OrchestrationErrorKind.Conflict, error.Kind);
    }
}
