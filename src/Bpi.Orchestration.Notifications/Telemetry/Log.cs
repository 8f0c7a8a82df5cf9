using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Notifications;

/// <summary>The notifier's log lines (event ids 8300-8348; 8349 is Core's audit-verification failure).</summary>
internal static partial class Log
{
    [LoggerMessage(8300, LogLevel.Information, "Notifications started: {Rules} rule(s), {Channels} channel(s)")]
    public static partial void Started(ILogger logger, int rules, int channels);

    [LoggerMessage(8301, LogLevel.Debug, "Notification {NotificationId} ({Trigger}) delivered to channel {Channel} after {Attempts} attempt(s)")]
    public static partial void Delivered(ILogger logger, string notificationId, string trigger, string channel, int attempts);

    [LoggerMessage(8302, LogLevel.Warning, "Notification {NotificationId} ({Trigger}) to channel {Channel}: attempt {Attempt} failed ({Reason}); retrying in {Delay}")]
    public static partial void Retrying(ILogger logger, string notificationId, string trigger, string channel, int attempt, string reason, TimeSpan delay);

    [LoggerMessage(8303, LogLevel.Error, "Notification {NotificationId} ({Trigger}) to channel {Channel} given up after {Attempts} attempt(s): {Reason}; check the receiver at {Url}")]
    public static partial void GaveUp(ILogger logger, string notificationId, string trigger, string channel, int attempts, string reason, string url);

    [LoggerMessage(8304, LogLevel.Error, "Notification {NotificationId} ({Trigger}) to channel {Channel} dropped: the delivery queue is full ({Capacity}); receivers are too slow or unreachable, or raise NotificationOptions.QueueCapacity")]
    public static partial void Dropped(ILogger logger, string notificationId, string trigger, string channel, int capacity);

    [LoggerMessage(8305, LogLevel.Debug, "Rule {Rule} did not send {Trigger} for {DeploymentId}: {Reason}")]
    public static partial void Suppressed(ILogger logger, string rule, string trigger, string deploymentId, string reason);

    [LoggerMessage(8306, LogLevel.Warning, "Rule {Rule} reached its rate limit ({Limit} per {Window}): {Trigger} for {DeploymentId} is not sent")]
    public static partial void RateLimited(ILogger logger, string rule, int limit, TimeSpan window, string trigger, string deploymentId);

    [LoggerMessage(8307, LogLevel.Error, "The notifier's watch of the orchestrator's events failed; notifications stop")]
    public static partial void WatchFailed(ILogger logger, Exception exception);
}
