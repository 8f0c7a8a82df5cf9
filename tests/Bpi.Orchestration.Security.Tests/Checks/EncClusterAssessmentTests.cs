namespace Bpi.Orchestration.Security.Tests.CheckCatalog;

public sealed class EncClusterAssessmentTests
{
    [Fact]
    public async Task An_enc_cluster_counts_as_maximum_encryption_and_passes_the_production_minimum_its_declared_level_misses()
    {
        using var assessor = TestSpecs.Assessor();
        var declaredStandard = TestSpecs.Hardened("production") with
        {
            Infrastructure = new InfrastructureConfig { Security = new SecurityConfig { EncryptionLevel = EncryptionLevel.Standard } },
        };
        var plain = await assessor.AssessAsync(declaredStandard);
        Assert.Equal(CheckOutcome.Failed, plain.ResultOf("BPI-SEC-032")!.Outcome);

        var encCluster = await assessor.AssessAsync(declaredStandard with { Type = DeploymentType.EncCluster, EncCluster = new EncClusterSpec() });
        var result = encCluster.ResultOf("BPI-SEC-032")!;
        Assert.Equal(CheckOutcome.Passed, result.Outcome);
        Assert.Contains(result.Observations, o => o.Evidence.Contains("Maximum (EncCluster: mutual TLS 1.3 with AES-256-GCM", StringComparison.Ordinal));
        Assert.DoesNotContain(encCluster.Findings, f => f.CheckId is "BPI-SEC-031" or "BPI-SEC-032");
        Assert.True(encCluster.Score > plain.Score);
    }
}
