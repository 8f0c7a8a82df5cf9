namespace Bpi.Orchestration.Configuration;

/// <summary>
/// Reads the seed's <c>enc_cluster: { encryption_algorithm, key_rotation_interval, cluster_size, grace_period }</c>
/// (the same snake_case spelling in the native document and in the seed's deploy body) into an <see cref="EncClusterSpec"/>.
/// </summary>
internal static class EncClusterMapper
{
    /// <summary>The key of the section.</summary>
    public const string Key = "enc_cluster";

    public static EncClusterSpec? Map(ConfigObject parent)
    {
        if (parent.Object(Key) is not { } c)
        {
            return null;
        }

        var d = new EncClusterSpec();
        var spec = new EncClusterSpec
        {
            EncryptionAlgorithm = c.String("encryption_algorithm") ?? d.EncryptionAlgorithm,
            KeyRotationInterval = c.Duration("key_rotation_interval") ?? d.KeyRotationInterval,
            ClusterSize = c.Int("cluster_size", 1) ?? d.ClusterSize,
            GracePeriod = c.Duration("grace_period") ?? d.GracePeriod,
        };
        c.RejectUnknown();
        return spec;
    }

    /// <summary>Names a problem of the SDK's checks by the config file's fields (<c>encCluster.clusterSize</c> → <c>enc_cluster.cluster_size</c>).</summary>
    public static string Translate(string problem)
    {
        (string Native, string File)[] fields =
        [
            ("encCluster.encryptionAlgorithm", "enc_cluster.encryption_algorithm"),
            ("encCluster.keyRotationInterval", "enc_cluster.key_rotation_interval"),
            ("encCluster.clusterSize", "enc_cluster.cluster_size"),
            ("encCluster.gracePeriod", "enc_cluster.grace_period"),
            ("encCluster:", "enc_cluster:"),
        ];
        foreach (var (native, file) in fields)
        {
            if (problem.StartsWith(native, StringComparison.Ordinal))
            {
                return file + problem[native.Length..];
            }
        }

        return problem;
    }
}
