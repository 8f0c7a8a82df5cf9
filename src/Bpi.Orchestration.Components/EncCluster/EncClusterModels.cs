using System.Security.Cryptography.X509Certificates;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.EncCluster;

/// <summary>
/// The EncCluster component manager (<c>AddEncCluster</c>): what a host asks of it beyond deploying — the cluster
/// certificates, the members' addresses, and rotation on demand.
/// </summary>
public interface IEncClusterManager
{
    /// <summary>The certificate authority every cluster certificate chains to (public part only is needed by clients).</summary>
    X509Certificate2 AuthorityCertificate { get; }

    /// <summary>The current certificate of an EncCluster deployment, or <see langword="null"/> when the deployment has none (not EncCluster, or not deployed yet).</summary>
    /// <param name="deploymentId">The deployment id.</param>
    /// <returns>The certificate's description.</returns>
    EncClusterCertificate? GetCertificate(string deploymentId);

    /// <summary>The members of an EncCluster deployment: for each, its TLS listener and the plain address its peers use.</summary>
    /// <param name="deploymentId">The deployment id.</param>
    /// <returns>The members, by component, revision and slot.</returns>
    IReadOnlyList<EncClusterMember> GetMembers(string deploymentId);

    /// <summary>
    /// Rotates the deployment's certificate now (the scheduled rotation does the same every
    /// <see cref="EncClusterSpec.KeyRotationInterval"/>): a new certificate is issued and used by every new connection,
    /// connections in flight keep theirs, the previous certificate is accepted until <see cref="EncClusterSpec.GracePeriod"/>
    /// has passed, and the rotation is appended to the audit trail (<c>enccluster.rotation</c>).
    /// </summary>
    /// <param name="deploymentId">The deployment id.</param>
    /// <param name="cancellationToken">Cancels the audit append.</param>
    /// <returns>The new certificate.</returns>
    /// <remarks>
    /// On Docker each member's TLS sidecar first accepts the new certificate, then presents it, each step confirmed by the
    /// orchestrator before the next (see <see cref="EncClusterOptions.SidecarReloadTimeout"/>); only then does the
    /// orchestrator use it. A sidecar that does not confirm fails the rotation and leaves the current certificate in use.
    /// </remarks>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.NotFound"/> when the deployment has no EncCluster;
    /// <see cref="OrchestrationErrorKind.DeploymentFailed"/> when a Docker sidecar did not apply a step of the rotation (the message names it and says why).</exception>
    ValueTask<EncClusterCertificate> RotateAsync(string deploymentId, CancellationToken cancellationToken = default);
}

/// <summary>The certificate an EncCluster deployment currently uses.</summary>
/// <param name="DeploymentId">The deployment.</param>
/// <param name="SerialNumber">The certificate's serial number (hex).</param>
/// <param name="NotBefore">When it became valid.</param>
/// <param name="NotAfter">When it expires (one rotation interval plus the grace period after issue).</param>
/// <param name="PreviousSerialNumber">The certificate it replaced, while that one is still accepted; otherwise <see langword="null"/>.</param>
/// <param name="PreviousAcceptedUntil">Until when the previous certificate is accepted; <see langword="null"/> when there is none.</param>
public sealed record EncClusterCertificate(string DeploymentId, string SerialNumber, DateTimeOffset NotBefore, DateTimeOffset NotAfter, string? PreviousSerialNumber, DateTimeOffset? PreviousAcceptedUntil);

/// <summary>One member of an EncCluster.</summary>
/// <param name="ComponentId">The component.</param>
/// <param name="Revision">The revision.</param>
/// <param name="Slot">The member's stable index within the revision (0, 1, …); a replacement takes over its slot.</param>
/// <param name="InstanceId">The runtime instance currently in the slot, if any.</param>
/// <param name="TlsEndpoint">The member's mutual-TLS listener.</param>
/// <param name="PlainEndpoint">The orchestrator-side address that encrypts to the member (what <c>BPI_ENC_PEERS</c> lists and the routing uses).</param>
public sealed record EncClusterMember(string ComponentId, int Revision, int Slot, string? InstanceId, ServiceEndpoint TlsEndpoint, ServiceEndpoint PlainEndpoint);
