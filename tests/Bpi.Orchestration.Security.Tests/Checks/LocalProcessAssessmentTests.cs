namespace Bpi.Orchestration.Security.Tests.CheckCatalog;

/// <summary>A local process has no sandbox: its isolation is "not applicable", never a silent perfect score.</summary>
public sealed class LocalProcessAssessmentTests
{
    [Fact]
    public async Task A_local_process_is_named_as_not_applicable_for_isolation_and_says_so_in_the_summary()
    {
        using var assessor = TestSpecs.Assessor();
        var spec = TestSpecs.Hardened() with
        {
            Components = [new ComponentSpec { Id = "worker", Command = new CommandSpec { FileName = "/usr/bin/worker" } }],
        };

        var assessment = await assessor.AssessAsync(spec);

        Assert.Equal(["worker"], assessment.LocalProcesses);
        Assert.Contains("isolation not applicable: worker run(s) as a local process without a sandbox", assessment.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_container_has_no_local_process_note()
    {
        using var assessor = TestSpecs.Assessor();

        var assessment = await assessor.AssessAsync(TestSpecs.Hardened());

        Assert.Empty(assessment.LocalProcesses);
        Assert.DoesNotContain("not applicable", assessment.ToString(), StringComparison.Ordinal);
    }
}
