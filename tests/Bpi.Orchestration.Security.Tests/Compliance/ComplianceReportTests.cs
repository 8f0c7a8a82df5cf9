using System.Text.Json;
using Bpi.Orchestration.Security.Compliance;

namespace Bpi.Orchestration.Security.Tests.Compliance;

public sealed class ComplianceReportTests
{
    [Fact]
    public void Built_in_mappings_cover_every_required_framework_with_interpretations()
    {
        var catalog = ComplianceCatalog.BuiltIn;
        Assert.Equal(["cis-docker", "nist-800-190", "nist-800-53", "soc2", "iso27001-2022", "pci-dss-4.0", "hipaa", "gdpr"], catalog.Frameworks.Select(f => f.Id));
        Assert.All(catalog.Frameworks.SelectMany(f => f.Controls), c =>
        {
            Assert.False(string.IsNullOrWhiteSpace(c.Interpretation));
            Assert.All(c.Checks, id => Assert.True(SecurityCheckCatalog.Contains(id), id));
        });
        Assert.Contains("not a certification", catalog.Disclaimer, StringComparison.Ordinal);
        Assert.Equal("v4.0", catalog.GetFramework("PCI-DSS-4.0").Version);
        Assert.Equal("2022", catalog.GetFramework("iso27001-2022").Version);
    }

    [Fact]
    public void Every_cis_reference_of_a_check_is_a_control_of_the_cis_framework()
    {
        var cis = ComplianceCatalog.BuiltIn.GetFramework("cis-docker");
        foreach (var check in SecurityCheckCatalog.All)
        {
            foreach (var reference in check.References.Where(r => r.Standard == CheckReference.CisDocker))
            {
                var control = Assert.Single(cis.Controls, c => c.Id == reference.Id);
                Assert.Contains(check.Id, control.Checks);
            }
        }
    }

    [Fact]
    public async Task Report_shows_passed_and_failed_evidence_with_the_findings_behind_it()
    {
        using var assessor = TestSpecs.Assessor();
        var assessment = await assessor.AssessAsync(TestSpecs.Hardened().WithComponent(c => c with { Environment = new Dictionary<string, string> { ["DB_PASSWORD"] = "x" } }));
        var report = ComplianceReporter.Create(assessment, ComplianceCatalog.BuiltIn.GetFramework("pci-dss-4.0"));
        var hardCoded = Assert.Single(report.Controls, c => c.ControlId == "8.6.2");
        Assert.Equal(ControlEvidenceStatus.EvidenceFailed, hardCoded.Status);
        Assert.Equal("BPI-SEC-021", Assert.Single(hardCoded.Findings).CheckId);
        Assert.Equal(ControlEvidenceStatus.EvidencePassed, Assert.Single(report.Controls, c => c.ControlId == "7.2.1").Status);
        Assert.Equal(report.Controls.Count, report.EvidencePassedCount + report.EvidenceFailedCount + report.NotAssessedCount);
    }

    [Fact]
    public async Task A_control_whose_checks_do_not_apply_is_not_assessed_rather_than_passed()
    {
        using var assessor = TestSpecs.Assessor();
        var report = ComplianceReporter.Create(await assessor.AssessAsync(TestSpecs.Hardened()), ComplianceCatalog.BuiltIn.GetFramework("cis-docker"));
        Assert.Equal(ControlEvidenceStatus.NotAssessed, Assert.Single(report.Controls, c => c.ControlId == "4.2").Status);
        Assert.Equal(ControlEvidenceStatus.NotAssessed, Assert.Single(report.Controls, c => c.ControlId == "4.5").Status);
    }

    [Fact]
    public async Task Reports_are_worded_as_evidence_in_json_markdown_and_html()
    {
        using var assessor = TestSpecs.Assessor();
        var report = ComplianceReporter.Create(await assessor.AssessAsync(TestSpecs.SeedExample()), ComplianceCatalog.BuiltIn.GetFramework("soc2"));
        using var json = JsonDocument.Parse(ComplianceReporter.ToJson(report));
        Assert.Equal("soc2", json.RootElement.GetProperty("frameworkId").GetString());
        Assert.Equal("evidenceFailed", json.RootElement.GetProperty("controls").EnumerateArray().Single(c => c.GetProperty("controlId").GetString() == "CC6.8").GetProperty("status").GetString());
        foreach (var text in new[] { ComplianceReporter.ToJson(report), ComplianceReporter.ToMarkdown(report), ComplianceReporter.ToHtml(report) })
        {
            Assert.Contains("evidence", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("certified", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("is compliant", text, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Contains("## CC6.8", ComplianceReporter.ToMarkdown(report), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Html_and_markdown_encode_text_that_comes_from_specs()
    {
        using var assessor = TestSpecs.Assessor();
        var spec = TestSpecs.Hardened() with { Name = "x<script>alert(1)</script>" };
        spec = spec.WithComponent(c => c with { Id = "web<img src=x onerror=alert(1)>", Environment = new Dictionary<string, string> { ["<b>API_TOKEN"] = "v" } });
        var report = ComplianceReporter.Create(await assessor.AssessAsync(spec), ComplianceCatalog.BuiltIn.GetFramework("pci-dss-4.0"));
        var html = ComplianceReporter.ToHtml(report);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", html, StringComparison.Ordinal);
        var markdown = ComplianceReporter.ToMarkdown(report);
        Assert.DoesNotContain("<script>", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void A_host_can_extend_and_replace_mappings_and_bad_documents_list_every_problem()
    {
        var extension = ComplianceCatalog.Parse("""
            { "version": "acme-1", "frameworks": [
              { "id": "soc2", "title": "", "version": "", "controls": [
                { "id": "CC6.1", "title": "Logical access (ACME reading)", "checks": ["BPI-SEC-009"], "interpretation": "ACME: non-root only." } ] },
              { "id": "acme-baseline", "title": "ACME container baseline", "version": "3", "controls": [
                { "id": "ACME-1", "title": "No root", "checks": ["BPI-SEC-009"], "interpretation": "Root is banned." } ] } ] }
            """);
        var merged = ComplianceCatalog.BuiltIn.Merge(extension);
        Assert.Equal(["BPI-SEC-009"], merged.GetFramework("soc2").Controls.Single(c => c.Id == "CC6.1").Checks);
        Assert.Equal(ComplianceCatalog.BuiltIn.GetFramework("soc2").Controls.Count, merged.GetFramework("soc2").Controls.Count);
        Assert.Equal("ACME container baseline", merged.GetFramework("acme-baseline").Title);
        Assert.Equal("bpi-compliance-v1+acme-1", merged.Version);

        var error = Assert.Throws<OrchestrationException>(() => ComplianceCatalog.Parse("""{"frameworks":[{"id":"x","title":"X","controls":[{"id":"1","checks":["BPI-SEC-999"]},{"id":"1","interpretation":"i"}]}]}"""));
        Assert.Equal(3, error.Errors.Count);
        Assert.Contains(error.Errors, e => e.Contains("BPI-SEC-999", StringComparison.Ordinal));
    }

    [Fact]
    public void Options_merge_host_documents_over_the_built_in_ones_or_replace_them()
    {
        var options = new SecurityOptions { IncludeBuiltInComplianceMappings = false };
        options.ComplianceMappings.Add("""{"version":"own","frameworks":[{"id":"own","title":"Own","version":"1","controls":[{"id":"O-1","title":"t","checks":["BPI-SEC-001"],"interpretation":"i"}]}]}""");
        Assert.Equal(["own"], options.BuildComplianceCatalog().Frameworks.Select(f => f.Id));
    }
}
