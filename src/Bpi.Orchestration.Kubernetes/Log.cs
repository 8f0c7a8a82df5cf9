using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Kubernetes;

/// <summary>The Kubernetes package's log messages (event ids 7000–7099).</summary>
internal static partial class Log
{
    [LoggerMessage(7000, LogLevel.Debug, "Retrying a Kubernetes API call (attempt {Attempt}): {Reason}")]
    public static partial void RetryingApiCall(ILogger logger, int attempt, string reason);

    [LoggerMessage(7001, LogLevel.Information, "Scaling {DeploymentId}/{ComponentId} revision {Revision} to {Replicas} replica(s) in namespace {Namespace}")]
    public static partial void Scaling(ILogger logger, string deploymentId, string componentId, int revision, int replicas, string @namespace);

    [LoggerMessage(7002, LogLevel.Warning, "DockLock default {Setting} relaxed for {DeploymentId}/{ComponentId} revision {Revision} on Kubernetes: {Reason}")]
    public static partial void DockLockRelaxed(ILogger logger, string setting, string deploymentId, string componentId, int revision, string reason);

    [LoggerMessage(7003, LogLevel.Information, "Created namespace {Namespace} with Pod Security level restricted")]
    public static partial void NamespaceCreated(ILogger logger, string @namespace);

    [LoggerMessage(7004, LogLevel.Information, "The {Resource} watch expired (410 Gone); listing again")]
    public static partial void WatchExpired(ILogger logger, string resource);

    [LoggerMessage(7005, LogLevel.Warning, "The {Resource} watch failed; listing again shortly")]
    public static partial void WatchFailed(ILogger logger, Exception exception, string resource);

    [LoggerMessage(7006, LogLevel.Information, "Removed {Count} Kubernetes object(s) of deployment {DeploymentId}")]
    public static partial void Removed(ILogger logger, int count, string deploymentId);

    [LoggerMessage(7007, LogLevel.Information, "Applied HTTPRoute {Namespace}/{Route}: {Weights}")]
    public static partial void RouteApplied(ILogger logger, string @namespace, string route, string weights);

    [LoggerMessage(7008, LogLevel.Information, "HorizontalPodAutoscaler {Namespace}/{Name} targets {Target}")]
    public static partial void AutoscalerApplied(ILogger logger, string @namespace, string name, string target);
}
