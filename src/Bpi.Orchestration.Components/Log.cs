using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Components;

/// <summary>Every log message of Bpi.Orchestration.Components (event ids 3000–3999). Never pass a secret value.</summary>
internal static partial class Log
{
    // 3000–3099: Engine API client
    [LoggerMessage(3000, LogLevel.Information, "Docker Engine at {Endpoint} ({EngineVersion}) speaks API {EngineMaximum}; using API {Version}")]
    public static partial void ApiVersionNegotiated(ILogger logger, string endpoint, string version, string engineMaximum, string engineVersion);

    [LoggerMessage(3001, LogLevel.Warning, "Docker Engine rejected API version {Version} ({EngineMessage}); renegotiating once")]
    public static partial void ApiVersionRejected(ILogger logger, string version, string engineMessage);

    [LoggerMessage(3002, LogLevel.Warning, "Docker Engine call failed transiently; retry {Attempt} in {Delay}: {Reason}")]
    public static partial void RetryingEngineCall(ILogger logger, int attempt, TimeSpan delay, string reason);

    // 3100–3199: Docker runtime
    [LoggerMessage(3100, LogLevel.Information, "Scaling {DeploymentId}/{ComponentId} revision {Revision} from {Current} to {Desired} container(s)")]
    public static partial void Scaling(ILogger logger, string deploymentId, string componentId, int revision, int current, int desired);

    [LoggerMessage(3101, LogLevel.Debug, "Created container {ContainerName} ({ContainerId}) from {Image}")]
    public static partial void ContainerCreated(ILogger logger, string containerName, string containerId, string image);

    [LoggerMessage(3102, LogLevel.Debug, "Removed container {ContainerName}")]
    public static partial void ContainerRemoved(ILogger logger, string containerName);

    [LoggerMessage(3103, LogLevel.Error, "Container {ContainerName} failed to start (exit code {ExitCode}): {Reason}")]
    public static partial void ContainerStartupFailed(ILogger logger, string containerName, int? exitCode, string reason);

    [LoggerMessage(3104, LogLevel.Information, "Created network {NetworkName} for deployment {DeploymentId}")]
    public static partial void NetworkCreated(ILogger logger, string networkName, string deploymentId);

    [LoggerMessage(3105, LogLevel.Information, "Removed deployment {DeploymentId}: {Containers} container(s), {Networks} network(s), {Volumes} volume(s)")]
    public static partial void DeploymentRemoved(ILogger logger, string deploymentId, int containers, int networks, int volumes);

    [LoggerMessage(3106, LogLevel.Information, "Reconciled owner {OwnerId}: removed {Containers} container(s), {Networks} network(s), {Volumes} volume(s) of {Deployments} unknown deployment(s)")]
    public static partial void Reconciled(ILogger logger, string ownerId, int containers, int networks, int volumes, int deployments);

    [LoggerMessage(3107, LogLevel.Debug, "Waiting for {ComponentId} of deployment {DeploymentId}: it depends on {Dependency}, which is not ready yet")]
    public static partial void WaitingForDependency(ILogger logger, string deploymentId, string componentId, string dependency);

    [LoggerMessage(3108, LogLevel.Warning, "Could not remove {Kind} {Name} of deployment {DeploymentId}: {Reason}")]
    public static partial void CleanupFailed(ILogger logger, string kind, string name, string deploymentId, string reason);

    [LoggerMessage(3109, LogLevel.Warning, "The Docker events stream at {Endpoint} ended or failed ({Reason}); reconnecting in {Delay}")]
    public static partial void EventStreamLost(ILogger logger, string endpoint, string reason, TimeSpan delay);

    [LoggerMessage(3110, LogLevel.Information, "The Docker events stream at {Endpoint} is back; comparing every deployment again")]
    public static partial void EventStreamReconnected(ILogger logger, string endpoint);

    [LoggerMessage(3112, LogLevel.Information, "The Docker events stream at {Endpoint} waits {Delay} for the circuit breaker of {Target} before reconnecting (the engine was not asked)")]
    public static partial void EventStreamWaitsForCircuit(ILogger logger, string endpoint, string target, TimeSpan delay);

    [LoggerMessage(3111, LogLevel.Error, "A subscriber to the Docker runtime's events threw; the watch goes on")]
    public static partial void EventSubscriberFailed(ILogger logger, Exception exception);

    // 3200–3299: DockLock hardening
    [LoggerMessage(3200, LogLevel.Warning, "DockLock default {Setting} relaxed for {DeploymentId}/{ComponentId} revision {Revision}: {Reason}")]
    public static partial void DockLockRelaxed(ILogger logger, string setting, string deploymentId, string componentId, int revision, string reason);

    [LoggerMessage(3010, LogLevel.Information, "Pulling image {Image} from {Registry} ({Reason})")]
    public static partial void PullingImage(ILogger logger, string image, string registry, string reason);

    [LoggerMessage(3011, LogLevel.Information, "Pulled image {Image} in {Elapsed}")]
    public static partial void PulledImage(ILogger logger, string image, TimeSpan elapsed);

    [LoggerMessage(3012, LogLevel.Warning, "Could not read the Docker config {Path}: {Reason}; pulling without its credentials")]
    public static partial void DockerConfigUnreadable(ILogger logger, string path, string reason);

    [LoggerMessage(3201, LogLevel.Information, "DockLock adds capabilities {Capabilities} to {DeploymentId}/{ComponentId}")]
    public static partial void DockLockCapabilitiesAdded(ILogger logger, string capabilities, string deploymentId, string componentId);
}
