using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Components;

/// <summary>Log messages of the in-process traffic router (event ids 3600–3699).</summary>
internal static partial class Log
{
    [LoggerMessage(3600, LogLevel.Information, "Service {ServiceId} listens on {Endpoint}")]
    public static partial void ServiceListening(ILogger logger, string serviceId, string endpoint);

    [LoggerMessage(3601, LogLevel.Information, "Service {ServiceId} route applied: {Weights}")]
    public static partial void RouteApplied(ILogger logger, string serviceId, string weights);

    [LoggerMessage(3602, LogLevel.Warning, "Service {ServiceId}: backend {Endpoint} (revision {Revision}) refused a connection ({Reason}); new connections skip it for {RetryAfter}")]
    public static partial void BackendRefused(ILogger logger, string serviceId, string endpoint, int revision, string reason, TimeSpan retryAfter);

    [LoggerMessage(3603, LogLevel.Information, "Service {ServiceId}: backend {Endpoint} (revision {Revision}) accepts connections again")]
    public static partial void BackendRecovered(ILogger logger, string serviceId, string endpoint, int revision);

    [LoggerMessage(3604, LogLevel.Debug, "Service {ServiceId}: no backend accepted a connection; closed it")]
    public static partial void ConnectionRejected(ILogger logger, string serviceId);

    [LoggerMessage(3605, LogLevel.Information, "Service {ServiceId} removed; {Active} open connection(s) may finish")]
    public static partial void ServiceRemoved(ILogger logger, string serviceId, long active);

    [LoggerMessage(3606, LogLevel.Warning, "Service {ServiceId}: accepting a connection failed")]
    public static partial void AcceptFailed(ILogger logger, Exception exception, string serviceId);

    [LoggerMessage(3607, LogLevel.Information, "In-process router stopped; {Cut} connection(s) still open after {ShutdownTimeout} were cut")]
    public static partial void RouterStopped(ILogger logger, int cut, TimeSpan shutdownTimeout);

    [LoggerMessage(3608, LogLevel.Error, "Service {ServiceId}: a proxied connection failed unexpectedly and was closed")]
    public static partial void ConnectionFailed(ILogger logger, Exception exception, string serviceId);

    [LoggerMessage(3609, LogLevel.Warning, "Service {ServiceId}: backend {Endpoint} (revision {Revision}) broke a connection before answering ({Reason}); its request was sent again to {RetriedOn} (retry {Retry})")]
    public static partial void RequestRetried(ILogger logger, string serviceId, string endpoint, int revision, string reason, string retriedOn, int retry);
}
