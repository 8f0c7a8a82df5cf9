using Xunit.Abstractions;

namespace Bpi.Orchestration.Security.Tests.CheckCatalog;

public sealed class SpecAssessmentTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_hardened_spec_passes_every_check_that_applies_and_scores_ten()
    {
        using var assessor = TestSpecs.Assessor();
        var assessment = await assessor.AssessAsync(TestSpecs.Hardened());
        Assert.Empty(assessment.Findings);
        Assert.Equal(10, assessment.Score);
        Assert.Equal('A', assessment.Grade);
        Assert.Equal(CheckOutcome.NotApplicable, assessment.ResultOf("BPI-SEC-027")!.Outcome);
        Assert.Equal(CheckOutcome.NotApplicable, assessment.ResultOf("BPI-SEC-028")!.Outcome);
    }

    [Fact]
    public void DockLock_defaults_are_the_effective_settings_of_a_spec_without_relaxations()
    {
        var profile = ContainerProfiles.FromSpec(new ComponentSpec { Id = "web", Image = "app:1", Resources = new ComponentResources { CpuCores = 0.5, MemoryMb = 128 } });
        Assert.Equal("65534:65534", profile.User);
        Assert.True(profile.NoNewPrivileges);
        Assert.True(profile.DropsAllCapabilities);
        Assert.True(profile.ReadOnlyRootFilesystem);
        Assert.False(profile.Privileged);
        Assert.Equal(128L * 1024 * 1024, profile.MemoryLimitBytes);
        Assert.Equal(0.5, profile.CpuLimitCores);
        Assert.Equal(256, profile.PidsLimit);
        Assert.Equal("no", profile.RestartPolicy);
    }

    [Fact]
    public void Explicit_relaxations_change_the_effective_settings()
    {
        var profile = ContainerProfiles.FromSpec(new ComponentSpec { Id = "web", Image = "app:1" }.WithSettings(
            (DockLockSettings.NonRootUser, "false"), (DockLockSettings.NonRootUser + ".reason", "binds port 80"),
            (DockLockSettings.PidsLimit, "unlimited"), (DockLockSettings.PidsLimit + ".reason", "forks a lot"),
            (DockLockSettings.ResourceLimits, "false"), (DockLockSettings.ResourceLimits + ".reason", "batch"),
            (DockLockSettings.AddCapabilities, "cap_net_admin, NET_BIND_SERVICE"),
            (DockLockSettings.RestartPolicy, "always")));
        Assert.Equal("", profile.User);
        Assert.Contains("binds port 80", profile.UserNote, StringComparison.Ordinal);
        Assert.Equal(0, profile.PidsLimit);
        Assert.Equal(0, profile.MemoryLimitBytes);
        Assert.Equal(["NET_ADMIN", "NET_BIND_SERVICE"], profile.AddedCapabilities);
        Assert.Equal("always", profile.RestartPolicy);
    }

    [Fact]
    public async Task Relaxing_non_root_without_a_user_is_a_finding_that_quotes_the_reason()
    {
        using var assessor = TestSpecs.Assessor();
        var spec = TestSpecs.Hardened().WithComponent(c => c.WithSettings((DockLockSettings.NonRootUser, "false"), (DockLockSettings.NonRootUser + ".reason", "legacy image writes /var/www")));
        var finding = Assert.Single((await assessor.AssessAsync(spec)).Findings);
        Assert.Equal("BPI-SEC-009", finding.CheckId);
        Assert.Contains("legacy image writes /var/www", finding.Evidence, StringComparison.Ordinal);
        Assert.Equal(6.9, (await assessor.AssessAsync(spec)).Score);
    }

    [Fact]
    public async Task The_seed_example_web_service_001_is_assessed_with_its_findings_listed()
    {
        using var assessor = TestSpecs.Assessor();
        var assessment = await assessor.AssessAsync(TestSpecs.SeedExample());
        foreach (var finding in assessment.Findings)
        {
            output.WriteLine(finding.ToString());
        }

        output.WriteLine(assessment.ToString());
        Assert.Equal(["BPI-SEC-025", "BPI-SEC-026", "BPI-SEC-029", "BPI-SEC-030"], assessment.Findings.Select(f => f.CheckId));
        Assert.Equal(SecuritySeverity.Medium, assessment.HighestSeverity);
        Assert.Equal(CheckOutcome.Passed, assessment.ResultOf("BPI-SEC-032")!.Outcome);

        // 25 applicable checks (weight 77 with 031 and 032) minus medium 2 + low 1 + low 1 + low 1 failed.
        var applicable = assessment.Results.Where(r => r.Outcome != CheckOutcome.NotApplicable).Sum(r => r.Check.Weight);
        Assert.Equal((double)(Math.Floor(100m * (applicable - 5) / applicable) / 10m), assessment.Score, 10);
    }

    [Fact]
    public async Task Assessment_is_deterministic_for_the_same_spec_and_clock()
    {
        var time = new Bpi.Orchestration.Testing.ManualTimeProvider();
        using var assessor = TestSpecs.Assessor(time: time);
        var a = await assessor.AssessAsync(TestSpecs.SeedExample());
        var b = await assessor.AssessAsync(TestSpecs.SeedExample());
        Assert.Equal(a.Score, b.Score);
        Assert.Equal(a.Findings.Select(f => f.ToString()), b.Findings.Select(f => f.ToString()));
        Assert.Equal(a.AssessedAt, b.AssessedAt);
    }
}
