namespace Bpi.Orchestration;

/// <summary>The checks of <see cref="DeploymentSpec.EncCluster"/> and of the combinations an EncCluster cannot serve.</summary>
internal static partial class DeploymentSpecValidator
{
    private static readonly TimeSpan MinimumRotationInterval = TimeSpan.FromMinutes(1);

    private static void CheckEncCluster(List<string> errors, DeploymentSpec spec)
    {
        var enc = spec.EncCluster;
        if (spec.Type != DeploymentType.EncCluster)
        {
            if (enc is not null)
            {
                errors.Add($"encCluster: is set but type is {spec.Type}, so nothing would use it; set type EncCluster or remove encCluster.");
            }

            return;
        }

        if (enc is null)
        {
            errors.Add("encCluster: type EncCluster needs its settings (encryptionAlgorithm, keyRotationInterval, clusterSize); set encCluster (enc_cluster in a config file).");
            return;
        }

        if (!string.Equals(enc.EncryptionAlgorithm, EncClusterSpec.Aes256Gcm, StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"encCluster.encryptionAlgorithm: '{enc.EncryptionAlgorithm}' is not supported; use aes256gcm (TLS 1.3 with TLS_AES_256_GCM_SHA384).");
        }

        if (enc.KeyRotationInterval < MinimumRotationInterval)
        {
            errors.Add($"encCluster.keyRotationInterval: {enc.KeyRotationInterval:c} is shorter than the minimum of 1 minute; use a longer interval (the default is 86400 s).");
        }

        CheckMaxDuration(errors, "encCluster.keyRotationInterval", enc.KeyRotationInterval);
        if (enc.GracePeriod < TimeSpan.Zero)
        {
            errors.Add($"encCluster.gracePeriod: {enc.GracePeriod:c} is negative; use zero or more.");
        }
        else if (enc.GracePeriod >= enc.KeyRotationInterval)
        {
            errors.Add($"encCluster.gracePeriod: {enc.GracePeriod:c} is not shorter than keyRotationInterval {enc.KeyRotationInterval:c}, so two rotations would overlap; shorten the grace period.");
        }

        if (enc.ClusterSize < 1)
        {
            errors.Add($"encCluster.clusterSize: {enc.ClusterSize} is less than 1; a cluster needs at least one member.");
        }

        for (var i = 0; i < spec.Components?.Count; i++)
        {
            if (spec.Components[i] is not { } c)
            {
                continue;
            }

            if (enc.ClusterSize >= 1 && c.Replicas != enc.ClusterSize)
            {
                errors.Add($"components[{i}].replicas: {c.Replicas} differs from encCluster.clusterSize {enc.ClusterSize}; an EncCluster component runs exactly clusterSize members, so set replicas to {enc.ClusterSize}.");
            }

            if (c.Ports is not { Count: > 0 })
            {
                errors.Add($"components[{i}].ports: an EncCluster member needs a port for its TLS proxy to forward to; declare the port the service listens on.");
            }

            if (c.Autoscaling is not null)
            {
                errors.Add($"components[{i}].autoscaling: an EncCluster has a fixed clusterSize and cannot be autoscaled; remove autoscaling or use another deployment type.");
            }
        }

        if (spec.Infrastructure?.Security is { EncryptionLevel: EncryptionLevel.None })
        {
            errors.Add("infrastructure.security.encryptionLevel: None contradicts type EncCluster, which encrypts every connection; raise it (EncCluster provides Maximum: mutual TLS 1.3 with AES-256-GCM).");
        }
    }
}
