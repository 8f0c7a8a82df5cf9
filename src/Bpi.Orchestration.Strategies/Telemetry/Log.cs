using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Strategies.Telemetry;

/// <summary>The package's log messages (event ids 2000–2999).</summary>
internal static partial class Log
{
    [LoggerMessage(2000, LogLevel.Information, "Deployment {DeploymentId}: {Phase} hook '{Hook}' succeeded")]
    public static partial void HookSucceeded(ILogger logger, string deploymentId, string phase, string hook);

    [LoggerMessage(2001, LogLevel.Warning, "Deployment {DeploymentId}: {Phase} hook '{Hook}' failed: {Reason}")]
    public static partial void HookFailed(ILogger logger, string deploymentId, string phase, string hook, string reason);

    [LoggerMessage(2010, LogLevel.Information, "Deployment {DeploymentId}: analysis '{Analysis}' ended {Phase}: {Summary}")]
    public static partial void AnalysisCompleted(ILogger logger, string deploymentId, string analysis, string phase, string summary);

    [LoggerMessage(2011, LogLevel.Warning, "Deployment {DeploymentId}: measuring metric '{Metric}' failed: {Reason}")]
    public static partial void MeasurementError(ILogger logger, string deploymentId, string metric, string reason);

    [LoggerMessage(2020, LogLevel.Warning, "Deployment {DeploymentId}: {Unhealthy} of {Total} instance(s) of revision {Revision} are unhealthy, above the trigger {Trigger}")]
    public static partial void HealthTriggerTripped(ILogger logger, string deploymentId, int unhealthy, int total, int revision, double trigger);

    [LoggerMessage(2030, LogLevel.Information, "Deployment {DeploymentId}: approval gate '{Gate}' escalated ({Action}) after {Timeout}")]
    public static partial void GateEscalated(ILogger logger, string deploymentId, string gate, string action, TimeSpan timeout);

    [LoggerMessage(2031, LogLevel.Debug, "Deployment {DeploymentId}: webhook gate '{Gate}' answered {Status}; asking again")]
    public static partial void WebhookGateWaiting(ILogger logger, string deploymentId, string gate, string status);

    [LoggerMessage(2040, LogLevel.Information, "Promotion {PromotionId}: {Release} of {Lifecycle} to {Environment} is {State}")]
    public static partial void PromotionChanged(ILogger logger, string promotionId, string release, string lifecycle, string environment, string state);

    [LoggerMessage(2041, LogLevel.Error, "Promotion {PromotionId} failed unexpectedly")]
    public static partial void PromotionFailed(ILogger logger, Exception exception, string promotionId);
}
