using Bpi.Orchestration.Security.Checks;

namespace Bpi.Orchestration.Security.Gate;

/// <summary>
/// What one environment demands of a deployment: the minimum score, the severities that block on their own, the
/// minimum encryption level, and the image policy (allowed registries, digest pinning, signatures).
/// </summary>
public sealed class SecurityEnvironmentPolicy
{
    /// <summary>The lowest score (0–10) the gate accepts.</summary>
    /// <value>The default value is 0 (no minimum).</value>
    public double MinimumScore { get; set; }

    /// <summary>A finding of this severity or higher refuses the deployment whatever the score; <see langword="null"/> blocks on no severity.</summary>
    /// <value>The default value is <see cref="SecuritySeverity.Critical"/>.</value>
    public SecuritySeverity? BlockingSeverity { get; set; } = SecuritySeverity.Critical;

    /// <summary>The lowest <see cref="SecurityConfig.EncryptionLevel"/> accepted (check BPI-SEC-032).</summary>
    /// <value>The default value is <see cref="EncryptionLevel.Standard"/>.</value>
    public EncryptionLevel MinimumEncryptionLevel { get; set; } = EncryptionLevel.Standard;

    /// <summary>
    /// The registries images may come from (after normalisation: no registry means <c>docker.io</c>, and
    /// <c>docker.io/nginx</c> means <c>docker.io/library/nginx</c>). An entry is a registry host (<c>registry.example.com</c>)
    /// or a repository prefix (<c>docker.io/library</c>). Empty: no allowlist, and check BPI-SEC-027 does not apply.
    /// </summary>
    public IList<string> AllowedRegistries { get; } = [];

    /// <summary>Whether every image must be pinned by digest (<c>@sha256:…</c>); an unpinned image then refuses the deployment.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool RequireDigestPinning { get; set; }

    /// <summary>
    /// Whether every image must carry a valid cosign signature by one of <see cref="SecurityOptions.TrustedSigningKeys"/>;
    /// an image without one then refuses the deployment. Without trusted keys check BPI-SEC-028 does not apply.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool RequireSignedImages { get; set; }

    /// <summary>Copies this policy.</summary>
    /// <returns>A copy.</returns>
    public SecurityEnvironmentPolicy Clone()
    {
        var copy = new SecurityEnvironmentPolicy
        {
            MinimumScore = MinimumScore,
            BlockingSeverity = BlockingSeverity,
            MinimumEncryptionLevel = MinimumEncryptionLevel,
            RequireDigestPinning = RequireDigestPinning,
            RequireSignedImages = RequireSignedImages,
        };
        foreach (var registry in AllowedRegistries)
        {
            copy.AllowedRegistries.Add(registry);
        }

        return copy;
    }
}
