using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Telemetry;

/// <summary>The autoscaler's log messages (event ids 8500-8549).</summary>
internal static partial class Log
{
    [LoggerMessage(8500, LogLevel.Information, "Deployment {DeploymentId}: autoscaling component {ComponentId} from {Current} to {Desired} replicas ({Reason})")]
    public static partial void Autoscaling(ILogger logger, string deploymentId, string componentId, int current, int desired, string reason);

    [LoggerMessage(8501, LogLevel.Warning, "Deployment {DeploymentId}: the autoscaler could not scale component {ComponentId} to {Desired} replicas; it tries again on its next pass")]
    public static partial void AutoscalingNotApplied(ILogger logger, Exception exception, string deploymentId, string componentId, int desired);

    [LoggerMessage(8502, LogLevel.Warning, "Deployment {DeploymentId}: the autoscaler could not measure component {ComponentId}; the replica count is kept until a measurement succeeds")]
    public static partial void AutoscalingMeasureFailed(ILogger logger, Exception exception, string deploymentId, string componentId);

    [LoggerMessage(8503, LogLevel.Information, "Autoscaling is on for runtime {Runtime}, every {Interval}")]
    public static partial void AutoscalingStarted(ILogger logger, string runtime, TimeSpan interval);

    [LoggerMessage(8504, LogLevel.Warning, "Runtime {Runtime} neither reports utilisation (IWorkloadUtilization) nor scales workloads itself (IWorkloadSelfScaling): the orchestrator autoscales on custom metrics only, and admission refuses CPU and memory targets")]
    public static partial void AutoscalingUnsupported(ILogger logger, string runtime);

    [LoggerMessage(8505, LogLevel.Warning, "Deployment {DeploymentId}: the autoscaler's pass failed; it looks at the deployment again on its next pass")]
    public static partial void AutoscalingPassFailed(ILogger logger, Exception exception, string deploymentId);

    [LoggerMessage(8506, LogLevel.Warning, "Deployment {DeploymentId}: the autoscaler could not read metric {Metric} of component {ComponentId}; it is skipped this pass (and the component is not scaled in while it cannot be read)")]
    public static partial void AutoscalingMetricFailed(ILogger logger, Exception exception, string deploymentId, string componentId, string metric);

    [LoggerMessage(8507, LogLevel.Information, "Runtime {Runtime} scales workloads itself (IWorkloadSelfScaling): the orchestrator leaves autoscaling to it")]
    public static partial void AutoscalingLeftToRuntime(ILogger logger, string runtime);
}
