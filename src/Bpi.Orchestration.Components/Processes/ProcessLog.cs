using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Components;

/// <summary>Log messages of the local-process runtime (event ids 3500–3599). Never pass a secret value: environment variables are not logged.</summary>
internal static partial class Log
{
    [LoggerMessage(3500, LogLevel.Information, "Started instance {InstanceId} of {DeploymentId}/{ComponentId} revision {Revision} as pid {Pid}: {FileName}")]
    public static partial void ProcessStarted(ILogger logger, string instanceId, string deploymentId, string componentId, int revision, int pid, string fileName);

    [LoggerMessage(3501, LogLevel.Debug, "Instance {InstanceId} accepts connections on port {Port}")]
    public static partial void ProcessReady(ILogger logger, string instanceId, int port);

    [LoggerMessage(3502, LogLevel.Information, "Instance {InstanceId} (pid {Pid}) {Message}")]
    public static partial void ProcessExited(ILogger logger, string instanceId, int pid, string message);

    [LoggerMessage(3503, LogLevel.Warning, "Instance {InstanceId} (pid {Pid}) failed: {Message}")]
    public static partial void ProcessFailed(ILogger logger, string instanceId, int pid, string message);

    [LoggerMessage(3504, LogLevel.Information, "Stopping instance {InstanceId} (pid {Pid}): SIGTERM, then kill after {GracePeriod}")]
    public static partial void ProcessStopping(ILogger logger, string instanceId, int pid, TimeSpan gracePeriod);

    [LoggerMessage(3505, LogLevel.Warning, "Instance {InstanceId} (pid {Pid}) did not exit within {GracePeriod} of SIGTERM; killing its process tree")]
    public static partial void ProcessKilled(ILogger logger, string instanceId, int pid, TimeSpan gracePeriod);

    [LoggerMessage(3506, LogLevel.Debug, "Killed {Count} leftover process(es) of instance {InstanceId}")]
    public static partial void LeftoversKilled(ILogger logger, int count, string instanceId);

    [LoggerMessage(3507, LogLevel.Information, "Adopted instance {InstanceId} (pid {Pid}) of {DeploymentId}, left running by a previous runtime")]
    public static partial void ProcessAdopted(ILogger logger, string instanceId, int pid, string deploymentId);

    [LoggerMessage(3508, LogLevel.Warning, "Instance {InstanceId} was recorded as pid {Pid}, which has ended or now belongs to another process; it is reported Exited and never signalled")]
    public static partial void ProcessGone(ILogger logger, string instanceId, int pid);

    [LoggerMessage(3509, LogLevel.Warning, "State file {Path} is unreadable; moved it aside and started with no instances")]
    public static partial void StateFileCorrupt(ILogger logger, Exception exception, string path);

    [LoggerMessage(3510, LogLevel.Warning, "Could not delete working directory {Path} of instance {InstanceId}")]
    public static partial void WorkingDirectoryNotDeleted(ILogger logger, Exception exception, string path, string instanceId);

    [LoggerMessage(3511, LogLevel.Warning, "Could not kill the process tree of instance {InstanceId} (pid {Pid})")]
    public static partial void KillFailed(ILogger logger, Exception exception, string instanceId, int pid);
}
