namespace Bpi.Orchestration.Configuration.Tests;

public sealed class EncClusterDocumentTests
{
    /// <summary>A document with every enc_cluster field (also one of the schema test's accepted documents).</summary>
    internal const string Document = """
            name: vault
            appId: shop
            type: encCluster
            enc_cluster: { encryption_algorithm: aes256gcm, key_rotation_interval: 86400, cluster_size: 3, grace_period: 2m }
            components:
              - id: web
                image: web:1
                replicas: 3
                ports: [8080]
            """;

    [Fact]
    public void The_seeds_enc_cluster_section_is_read_into_the_spec()
    {
        var spec = DeploymentDocument.Parse(Document, DeploymentDocumentFormat.Yaml, "vault.yaml");

        Assert.Equal(DeploymentType.EncCluster, spec.Type);
        Assert.Equal(new EncClusterSpec { EncryptionAlgorithm = "aes256gcm", KeyRotationInterval = TimeSpan.FromDays(1), ClusterSize = 3, GracePeriod = TimeSpan.FromMinutes(2) }, spec.EncCluster);
    }

    [Fact]
    public void A_bad_enc_cluster_is_refused_naming_the_files_own_fields()
    {
        const string yaml = """
            name: vault
            appId: shop
            type: EncCluster
            enc_cluster: { encryption_algorithm: des, key_rotation_interval: 5s, cluster_size: 2, colour: red }
            components:
              - id: web
                image: web:1
                replicas: 3
                ports: [8080]
            """;

        var ex = Assert.Throws<OrchestrationException>(() => DeploymentDocument.Parse(yaml, DeploymentDocumentFormat.Yaml, "vault.yaml"));

        Assert.Contains(ex.Errors, e => e.StartsWith("enc_cluster.colour: ", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("enc_cluster.encryption_algorithm: 'des' is not supported", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("enc_cluster.key_rotation_interval: ", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("components[0].replicas: 3 differs from encCluster.clusterSize 2", StringComparison.Ordinal));
    }

    [Fact]
    public void The_seed_deploy_body_takes_enc_cluster_too_and_type_EncCluster_without_it_is_refused()
    {
        const string body = """{ "deployment_type": "enc_cluster", "app_id": "shop", "config": { "deployment_name": "vault", "image": "v:1", "replicas": 3, "ports": [8080] }, "enc_cluster": { "cluster_size": 3 } }""";
        var spec = DeploymentDocument.Parse(body, DeploymentDocumentFormat.Json, "body");
        Assert.Equal(DeploymentType.EncCluster, spec.Type);
        Assert.Equal(3, spec.EncCluster!.ClusterSize);
        Assert.Equal(TimeSpan.FromSeconds(86400), spec.EncCluster.KeyRotationInterval);

        var missing = body.Replace(""", "enc_cluster": { "cluster_size": 3 }""", "", StringComparison.Ordinal);
        var ex = Assert.Throws<OrchestrationException>(() => DeploymentDocument.Parse(missing, DeploymentDocumentFormat.Json, "body"));
        Assert.Contains(ex.Errors, e => e.StartsWith("enc_cluster: type EncCluster needs its settings", StringComparison.Ordinal));
    }
}
