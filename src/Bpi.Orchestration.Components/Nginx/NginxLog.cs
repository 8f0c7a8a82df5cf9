using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Components;

/// <summary>Log messages of CueNginx and HttpCage (event ids 3700–3799).</summary>
internal static partial class Log
{
    [LoggerMessage(3700, LogLevel.Information, "nginx started: master pid {Pid}, prefix {Prefix}")]
    public static partial void NginxStarted(ILogger logger, int pid, string prefix);

    [LoggerMessage(3701, LogLevel.Information, "nginx master pid {Pid} adopted from {Prefix} (generation {Generation}, {Services} service(s))")]
    public static partial void NginxAdopted(ILogger logger, int pid, string prefix, long generation, int services);

    [LoggerMessage(3702, LogLevel.Information, "nginx reloaded to generation {Generation}: {Change}")]
    public static partial void NginxReloaded(ILogger logger, long generation, string change);

    [LoggerMessage(3703, LogLevel.Warning, "nginx refused generation {Generation} ({Change}); the previous config stays live: {NginxMessage}")]
    public static partial void NginxRefused(ILogger logger, long generation, string change, string nginxMessage);

    [LoggerMessage(3704, LogLevel.Information, "nginx master pid {Pid} stopped ({How})")]
    public static partial void NginxStopped(ILogger logger, int pid, string how);

    [LoggerMessage(3705, LogLevel.Warning, "nginx pid file {PidFile} names pid {Pid}, which is not this prefix's nginx master; it is left alone")]
    public static partial void NginxPidNotOurs(ILogger logger, string pidFile, int pid);

    [LoggerMessage(3706, LogLevel.Information, "nginx of {Prefix} is not running; starting it with {Services} recorded service(s)")]
    public static partial void NginxRestoring(ILogger logger, string prefix, int services);

    [LoggerMessage(3707, LogLevel.Warning, "CueNginx state file {Path} could not be read and was moved aside: {Reason}")]
    public static partial void NginxStateCorrupt(ILogger logger, string path, string reason);

    [LoggerMessage(3708, LogLevel.Information, "Service {ServiceId} listens on {Endpoint} through nginx")]
    public static partial void NginxServiceListening(ILogger logger, string serviceId, string endpoint);

    [LoggerMessage(3710, LogLevel.Warning, "Killed {Count} process(es) left by nginx master pid {Pid}, which ended without a graceful stop")]
    public static partial void NginxLeftoversKilled(ILogger logger, int count, int pid);

    [LoggerMessage(3711, LogLevel.Warning, "The listen port the router chose was taken before nginx bound it; choosing another (retry {Attempt}): {NginxMessage}")]
    public static partial void NginxListenPortTaken(ILogger logger, int attempt, string nginxMessage);

    [LoggerMessage(3709, LogLevel.Information, "Service {ServiceId} removed from nginx")]
    public static partial void NginxServiceRemoved(ILogger logger, string serviceId);
}
