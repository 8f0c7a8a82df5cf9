using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Components;

/// <summary>Log messages of the EncCluster component manager (event ids 8550–8599).</summary>
internal static partial class Log
{
    [LoggerMessage(8550, LogLevel.Information, "EncCluster {DeploymentId}: certificate {Serial} issued ({Reason}), valid until {NotAfter}; the previous one {PreviousSerial} is accepted until {GraceUntil}")]
    public static partial void EncCertificateRotated(ILogger logger, string deploymentId, string serial, string reason, DateTimeOffset notAfter, string previousSerial, DateTimeOffset graceUntil);

    [LoggerMessage(8551, LogLevel.Information, "EncCluster {DeploymentId}: member {Slot} serves TLS on {TlsEndpoint}, reached by the orchestrator and its peers at {PlainEndpoint}")]
    public static partial void EncMemberListening(ILogger logger, string deploymentId, string slot, string tlsEndpoint, string plainEndpoint);

    [LoggerMessage(8552, LogLevel.Warning, "EncCluster {DeploymentId}: a TLS connection on {Endpoint} was refused ({Reason})")]
    public static partial void EncConnectionRefused(ILogger logger, string deploymentId, string endpoint, string reason);

    [LoggerMessage(8553, LogLevel.Error, "EncCluster {DeploymentId}: the scheduled certificate rotation failed; the current certificate stays in use")]
    public static partial void EncRotationFailed(ILogger logger, Exception exception, string deploymentId);

    [LoggerMessage(8554, LogLevel.Information, "EncCluster: certificate authority {Subject} ({Thumbprint}) {How}")]
    public static partial void EncAuthorityReady(ILogger logger, string subject, string thumbprint, string how);

    [LoggerMessage(8555, LogLevel.Information, "EncCluster {DeploymentId}: member {Slot} now forwards to instance {InstanceId} at {Upstream}")]
    public static partial void EncMemberAssigned(ILogger logger, string deploymentId, string slot, string instanceId, string upstream);

    [LoggerMessage(8556, LogLevel.Debug, "EncCluster {DeploymentId}: a proxied connection on {Endpoint} ended with an error")]
    public static partial void EncConnectionFailed(ILogger logger, Exception exception, string deploymentId, string endpoint);

    [LoggerMessage(8557, LogLevel.Information, "EncCluster {DeploymentId}: member {Member} has its TLS sidecar {Sidecar}")]
    public static partial void EncSidecarStarted(ILogger logger, string deploymentId, string member, string sidecar);

    [LoggerMessage(8558, LogLevel.Error, "EncCluster {DeploymentId}: the certificate files could not be written into sidecar {Sidecar} or its nginx not reloaded; it keeps its previous certificate")]
    public static partial void EncSidecarUpdateFailed(ILogger logger, Exception exception, string deploymentId, string sidecar);

    [LoggerMessage(8559, LogLevel.Error, "EncCluster {DeploymentId}: a TLS sidecar did not {Step}: {Problem}")]
    public static partial void EncSidecarNotConfirmed(ILogger logger, string deploymentId, string step, string problem);

    [LoggerMessage(8560, LogLevel.Warning, "EncCluster {DeploymentId}: member {Member} died and could not get its TLS sidecar back; the next ensure makes it")]
    public static partial void EncSidecarReviveFailed(ILogger logger, Exception exception, string deploymentId, string member);
}
