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

    [LoggerMessage(3509, LogLevel.Warning, "State file {Path} is unreadable; moved it aside (.corrupt) and rebuilt the table from the processes that carry this runtime's marker")]
    public static partial void StateFileCorrupt(ILogger logger, Exception exception, string path);

    [LoggerMessage(3510, LogLevel.Warning, "Could not delete working directory {Path} of instance {InstanceId}")]
    public static partial void WorkingDirectoryNotDeleted(ILogger logger, Exception exception, string path, string instanceId);

    [LoggerMessage(3511, LogLevel.Warning, "Could not kill the process tree of instance {InstanceId} (pid {Pid})")]
    public static partial void KillFailed(ILogger logger, Exception exception, string instanceId, int pid);

    [LoggerMessage(3512, LogLevel.Warning, "Instance {InstanceId} (pid {Pid}) of {DeploymentId} runs with this runtime's marker but is missing from {Path} (the table was missing, damaged or edited); adopted it")]
    public static partial void StrayAdopted(ILogger logger, string instanceId, int pid, string deploymentId, string path);

    [LoggerMessage(3513, LogLevel.Information, "Instance {InstanceId} was being started when the previous runtime stopped; adopted its process (pid {Pid})")]
    public static partial void IntentAdopted(ILogger logger, string instanceId, int pid);

    [LoggerMessage(3514, LogLevel.Information, "Instance {InstanceId} was about to be started when the previous runtime stopped, and no process of it runs; dropped it")]
    public static partial void IntentDropped(ILogger logger, string instanceId);

    [LoggerMessage(3515, LogLevel.Warning, "Could not rewrite the process table {Path}; the next runtime on this directory reconciles it")]
    public static partial void StateFileNotWritten(ILogger logger, Exception exception, string path);

    [LoggerMessage(3516, LogLevel.Information, "Instance {InstanceId} (pid {Pid}) started after the runtime began disposing; stopping it so it does not outlive the runtime unseen")]
    public static partial void StartedDuringDisposal(ILogger logger, string instanceId, int pid);
}
