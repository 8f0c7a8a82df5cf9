namespace Bpi.Orchestration;

/// <summary>
/// The settings of an EncCluster deployment (<see cref="DeploymentType.EncCluster"/>): every component runs as a cluster
/// of <see cref="ClusterSize"/> members, and every connection to a member — from a peer member or from the orchestrator's
/// routing — is mutual TLS 1.3 restricted to TLS_AES_256_GCM_SHA384, with certificates issued by a certificate authority
/// the orchestrator keeps and rotated every <see cref="KeyRotationInterval"/>. The seed's configuration is
/// <c>enc_cluster: { encryption_algorithm: aes256gcm, key_rotation_interval: 86400, cluster_size: 3 }</c>.
/// </summary>
public sealed record EncClusterSpec
{
    /// <summary>The only encryption algorithm EncCluster offers: <c>aes256gcm</c> (the TLS 1.3 suite TLS_AES_256_GCM_SHA384).</summary>
    public const string Aes256Gcm = "aes256gcm";

    /// <summary>The default <see cref="KeyRotationInterval"/>: 86400 s (24 hours, the workload-certificate lifetime of Istio and Linkerd).</summary>
    public static TimeSpan DefaultKeyRotationInterval { get; } = TimeSpan.FromSeconds(86400);

    /// <summary>The default <see cref="GracePeriod"/>: 5 minutes.</summary>
    public static TimeSpan DefaultGracePeriod { get; } = TimeSpan.FromMinutes(5);

    /// <summary>The encryption algorithm; only <see cref="Aes256Gcm"/> is supported.</summary>
    /// <value>The default value is <c>aes256gcm</c>.</value>
    public string EncryptionAlgorithm { get; init; } = Aes256Gcm;

    /// <summary>How often the cluster's certificates are replaced (at least 1 minute); it is also their lifetime, plus the grace period.</summary>
    /// <value>The default value is 86400 seconds (24 hours).</value>
    public TimeSpan KeyRotationInterval { get; init; } = DefaultKeyRotationInterval;

    /// <summary>How many members each component runs; every component's <see cref="ComponentSpec.Replicas"/> must equal it.</summary>
    /// <value>The default value is 3.</value>
    public int ClusterSize { get; init; } = 3;

    /// <summary>How long after a rotation the previous certificate is still accepted (shorter than <see cref="KeyRotationInterval"/>).</summary>
    /// <value>The default value is 5 minutes.</value>
    public TimeSpan GracePeriod { get; init; } = DefaultGracePeriod;
}
