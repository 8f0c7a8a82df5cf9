using System.Text.RegularExpressions;
using Bpi.Orchestration.Security.Tests.Checks;

namespace Bpi.Orchestration.Security.Tests.CheckCatalog;

public sealed class CheckCatalogTests
{
    public static TheoryData<string> CheckIds() => [.. SecurityCheckCatalog.All.Select(c => c.Id)];

    [Fact]
    public void Every_check_has_a_passing_and_a_failing_fixture()
    {
        Assert.Equal(SecurityCheckCatalog.All.Select(c => c.Id).Order(StringComparer.Ordinal), CheckFixtures.All.Select(f => f.Id).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(CheckIds))]
    public async Task Check_passes_its_passing_fixture_and_fails_its_failing_fixture(string id)
    {
        var fixture = CheckFixtures.All.Single(f => f.Id == id);
        Assert.Equal(CheckOutcome.Passed, await OutcomeAsync(fixture, fixture.Pass, fixture.PassEncryption));
        Assert.Equal(CheckOutcome.Failed, await OutcomeAsync(fixture, fixture.Fail, fixture.FailEncryption));
    }

    [Fact]
    public void Catalogue_ids_are_stable_sequential_and_documented()
    {
        var all = SecurityCheckCatalog.All;
        Assert.InRange(all.Count, 28, 40);
        for (var i = 0; i < all.Count; i++)
        {
            Assert.Equal($"BPI-SEC-{i + 1:000}", all[i].Id);
            Assert.False(string.IsNullOrWhiteSpace(all[i].Title));
            Assert.False(string.IsNullOrWhiteSpace(all[i].Rationale));
            Assert.False(string.IsNullOrWhiteSpace(all[i].Remediation));
            Assert.All(all[i].References, r => Assert.False(string.IsNullOrWhiteSpace(r.Version)));
        }

        Assert.All(all.Where(c => c.Scope != CheckScope.Deployment), c => Assert.NotEmpty(c.References));
    }

    [Fact]
    public void References_use_cis_docker_1_6_section_4_and_5_ids_and_trivy_ksv_ids()
    {
        var refs = SecurityCheckCatalog.All.SelectMany(c => c.References).ToList();
        Assert.All(refs.Where(r => r.Standard == CheckReference.CisDocker), r =>
        {
            Assert.Equal("v1.6.0", r.Version);
            Assert.Matches(new Regex(@"^[45]\.\d{1,2}$"), r.Id);
        });
        Assert.All(refs.Where(r => r.Standard == CheckReference.Trivy), r => Assert.Matches(new Regex(@"^(KSV|DS)-\d{4}$"), r.Id));
        Assert.Contains(SecurityCheckCatalog.Get("BPI-SEC-001").References, r => r.Id == "5.5");
        Assert.Contains(SecurityCheckCatalog.Get("BPI-SEC-001").References, r => r.Id == "KSV-0017");
        Assert.Contains(SecurityCheckCatalog.Get("BPI-SEC-009").References, r => r.Standard == CheckReference.PodSecurityStandards && r.Id == "restricted/runAsNonRoot");
    }

    [Fact]
    public void Dangerous_capabilities_are_called_out_by_name()
    {
        foreach (var cap in new[] { "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE" })
        {
            var assessment = Evaluate(p => p with { AddedCapabilities = [cap] });
            var finding = Assert.Single(assessment.Findings, f => f.CheckId == "BPI-SEC-003");
            Assert.Contains(cap, finding.Evidence, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Unknown_facts_are_not_applicable_never_passed()
    {
        var unknown = new ContainerProfile { ComponentId = "web", Source = ProfileSource.Runtime };
        var assessment = TestSpecs.Assessor().Evaluate("x", null, ProfileSource.Runtime, [unknown], Context(TestSpecs.Assessor(), unknown, null));
        Assert.All(assessment.Results.Where(r => r.Check.Scope != CheckScope.Deployment), r => Assert.Equal(CheckOutcome.NotApplicable, r.Outcome));
        Assert.Equal(0, assessment.PassedCount);
    }

    [Fact]
    public async Task A_local_process_has_no_container_checks_but_keeps_environment_and_health_checks()
    {
        var spec = TestSpecs.Hardened().WithComponent(c => c with { Image = null, Command = new CommandSpec { FileName = "/usr/bin/app" }, Environment = new Dictionary<string, string> { ["API_TOKEN"] = "x" } });
        var assessment = await TestSpecs.Assessor().AssessAsync(spec);
        Assert.Equal(CheckOutcome.NotApplicable, assessment.ResultOf("BPI-SEC-001")!.Outcome);
        Assert.Equal(CheckOutcome.NotApplicable, assessment.ResultOf("BPI-SEC-013")!.Outcome);
        Assert.Equal(CheckOutcome.Failed, assessment.ResultOf("BPI-SEC-021")!.Outcome);
        Assert.Equal(CheckOutcome.Passed, assessment.ResultOf("BPI-SEC-029")!.Outcome);
    }

    [Fact]
    public async Task A_check_fails_once_for_the_deployment_and_names_every_failing_component()
    {
        var spec = TestSpecs.Hardened() with
        {
            Components =
            [
                TestSpecs.Component("api").WithSettings((DockLockSettings.ReadOnlyRootFilesystem, "false"), (DockLockSettings.ReadOnlyRootFilesystem + ".reason", "cache")),
                TestSpecs.Component("web"),
                TestSpecs.Component("worker").WithSettings((DockLockSettings.ReadOnlyRootFilesystem, "false"), (DockLockSettings.ReadOnlyRootFilesystem + ".reason", "cache")),
            ],
        };
        var assessment = await TestSpecs.Assessor().AssessAsync(spec);
        var finding = Assert.Single(assessment.Findings);
        Assert.Equal("BPI-SEC-013", finding.CheckId);
        Assert.Equal(["api", "worker"], finding.Subjects);
    }

    internal static async Task<CheckOutcome> OutcomeAsync(CheckFixture fixture, Func<ContainerProfile, ContainerProfile> change, EncryptionLevel encryption)
    {
        using var assessor = TestSpecs.Assessor(fixture.Options, signatures: CheckFixtures.Signatures);
        var spec = TestSpecs.Hardened() with { Infrastructure = new InfrastructureConfig { Security = new SecurityConfig { EncryptionLevel = encryption } } };
        var profile = change(ContainerProfiles.FromSpec(spec.Components[0]));
        var context = await assessor.CreateContextAsync(spec, spec.Environment, [profile], null, default);
        return assessor.Evaluate(spec.Name, null, ProfileSource.Spec, [profile], context).ResultOf(fixture.Id)!.Outcome;
    }

    private static SecurityAssessment Evaluate(Func<ContainerProfile, ContainerProfile> change)
    {
        using var assessor = TestSpecs.Assessor();
        var spec = TestSpecs.Hardened();
        var profile = change(ContainerProfiles.FromSpec(spec.Components[0]));
        return assessor.Evaluate(spec.Name, null, ProfileSource.Spec, [profile], Context(assessor, profile, spec));
    }

    private static AssessmentContext Context(SecurityAssessor assessor, ContainerProfile profile, DeploymentSpec? spec)
        => assessor.CreateContextAsync(spec, spec?.Environment ?? "", [profile], null, default).AsTask().GetAwaiter().GetResult();
}
