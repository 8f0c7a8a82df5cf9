using Microsoft.Extensions.Logging;

namespace Bpi.Orchestration.Telemetry;

/// <summary>Core's log messages (event ids 1000-1999).</summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "Orchestrator {VmId} started with runtime {Runtime} and {Deployments} deployment(s) loaded")]
    public static partial void Started(ILogger logger, string vmId, string runtime, int deployments);

    [LoggerMessage(1001, LogLevel.Information, "Orchestrator {VmId} stopped")]
    public static partial void Stopped(ILogger logger, string vmId);

    [LoggerMessage(1002, LogLevel.Information, "Deployment {DeploymentId} ({Name}) accepted, revision {Revision}, strategy {Strategy}")]
    public static partial void Accepted(ILogger logger, string deploymentId, string name, int revision, string strategy);

    [LoggerMessage(1003, LogLevel.Information, "Deployment {DeploymentId}: {Previous} -> {State}")]
    public static partial void StateChanged(ILogger logger, string deploymentId, DeploymentState previous, DeploymentState state);

    [LoggerMessage(1004, LogLevel.Debug, "Deployment {DeploymentId}: step {Index}/{Total} started: {Step}")]
    public static partial void StepStarted(ILogger logger, string deploymentId, int index, int total, string step);

    [LoggerMessage(1005, LogLevel.Warning, "Deployment {DeploymentId}: step {Index}/{Total} failed: {Reason}")]
    public static partial void StepFailed(ILogger logger, string deploymentId, int index, int total, string reason);

    [LoggerMessage(1006, LogLevel.Warning, "Deployment {DeploymentId}: rolling back ({Reason})")]
    public static partial void RollingBack(ILogger logger, string deploymentId, string reason);

    [LoggerMessage(1007, LogLevel.Error, "Deployment {DeploymentId}: the rollback failed; the deployment is left Failed")]
    public static partial void RollbackFailed(ILogger logger, Exception exception, string deploymentId);

    [LoggerMessage(1008, LogLevel.Warning, "Operation {Verb} on {Target} denied for {Actor} by rule {Rule}")]
    public static partial void Denied(ILogger logger, string verb, string target, string actor, string rule);

    [LoggerMessage(1009, LogLevel.Information, "Removing {Count} orphaned instance(s) of destroyed deployment {DeploymentId}")]
    public static partial void RemovingOrphans(ILogger logger, int count, string deploymentId);

    [LoggerMessage(1010, LogLevel.Warning, "Removing orphans of deployment {DeploymentId} failed")]
    public static partial void OrphanRemovalFailed(ILogger logger, Exception exception, string deploymentId);

    [LoggerMessage(1011, LogLevel.Error, "The audit sink failed to append {Action} for {Target}")]
    public static partial void AuditFailed(ILogger logger, Exception exception, string action, string target);

    [LoggerMessage(1012, LogLevel.Information, "Resuming the interrupted {Kind} of deployment {DeploymentId} at step {Index}")]
    public static partial void Resuming(ILogger logger, Rollout.RolloutKind kind, string deploymentId, int index);

    [LoggerMessage(1013, LogLevel.Warning, "Transient runtime failure, retrying (attempt {Attempt})")]
    public static partial void RuntimeRetry(ILogger logger, Exception? exception, int attempt);

    [LoggerMessage(1014, LogLevel.Error, "Deployment {DeploymentId}: unexpected error in the rollout worker")]
    public static partial void WorkerFailed(ILogger logger, Exception exception, string deploymentId);

    [LoggerMessage(1015, LogLevel.Warning, "Deployment {DeploymentId}: cleaning up stale revision {Revision} failed")]
    public static partial void CleanupFailed(ILogger logger, Exception exception, string deploymentId, int revision);

    [LoggerMessage(1016, LogLevel.Warning, "Deployment {DeploymentId}: deleting the record of the destroyed deployment from the store failed; it is forgotten in memory and trimmed again on the next start")]
    public static partial void ForgetFailed(ILogger logger, Exception exception, string deploymentId);

    [LoggerMessage(1017, LogLevel.Warning, "The runtime reports {Count} instance(s) of deployment {DeploymentId}, which the deployment store does not know (its record is missing or unreadable); left them running. Restore the record, or remove them through the runtime once you know they are not needed")]
    public static partial void UnknownDeploymentInstancesLeft(ILogger logger, int count, string deploymentId);

    [LoggerMessage(1018, LogLevel.Warning, "Deployment {DeploymentId}: a self-healing pass failed; it is tried again on the next runtime event, when the runtime's circuit breaker closes, or on the resync")]
    public static partial void HealingPassFailed(ILogger logger, Exception exception, string deploymentId);

    [LoggerMessage(1019, LogLevel.Information, "Deployment {DeploymentId}: self-healing: {Reason}")]
    public static partial void Repairing(ILogger logger, string deploymentId, string reason);

    [LoggerMessage(1020, LogLevel.Warning, "Deployment {DeploymentId}: a self-healing repair failed; it is tried again after the crash-loop back-off")]
    public static partial void RepairFailed(ILogger logger, Exception exception, string deploymentId);

    [LoggerMessage(1090, LogLevel.Information, "Orchestrator {VmId}: the host is stopping; OnHostStop {Action} for {Deployments} deployment(s)")]
    public static partial void HostStopPolicyStarted(ILogger logger, string vmId, string action, int deployments);

    [LoggerMessage(1091, LogLevel.Information, "Orchestrator {VmId}: OnHostStop {Action} done for {Done} of {Deployments} deployment(s)")]
    public static partial void HostStopPolicyEnded(ILogger logger, string vmId, string action, int done, int deployments);

    [LoggerMessage(1092, LogLevel.Warning, "Orchestrator {VmId}: OnHostStop {Action} was cancelled by the host's shutdown timeout; what it had not done yet is left running")]
    public static partial void HostStopPolicyCancelled(ILogger logger, string vmId, string action);

    [LoggerMessage(1093, LogLevel.Warning, "Deployment {DeploymentId}: the host-stop policy failed on it; it is left as it is")]
    public static partial void HostStopDeploymentFailed(ILogger logger, Exception exception, string deploymentId);
    [LoggerMessage(1040, LogLevel.Warning, "Deployment {DeploymentId}: this instance lost the deployment to another orchestrator instance; it stopped acting on it and the owner continues from the stored cursor")]
    public static partial void OwnershipLost(ILogger logger, Exception? exception, string deploymentId);

    [LoggerMessage(1041, LogLevel.Information, "Deployment {DeploymentId}: this instance owns the deployment now (state {State}); taking it over")]
    public static partial void OwnershipAcquired(ILogger logger, string deploymentId, DeploymentState state);

    [LoggerMessage(1042, LogLevel.Warning, "Deployment {DeploymentId}: taking the deployment over failed; the lease is kept and the take-over is tried again on the next poll")]
    public static partial void TakeoverFailed(ILogger logger, Exception exception, string deploymentId);

    // 8349: from the alerts range (8300-8349), so it cannot collide with Core ids other work adds meanwhile.
    [LoggerMessage(8349, LogLevel.Error, "The audit trail failed verification: {Message}")]
    public static partial void AuditVerificationFailed(ILogger logger, string message);

    // Backup and restore: 8400-8449.
    [LoggerMessage(8400, LogLevel.Information, "Backup written: {Parts} part(s) ({Names})")]
    public static partial void BackupWritten(ILogger logger, int parts, string names);

    [LoggerMessage(8401, LogLevel.Information, "Backup of {CreatedAt} restored: {Parts} part(s); {Running} deployment(s) running, {Missing} missing on the runtime")]
    public static partial void BackupRestored(ILogger logger, int parts, DateTimeOffset createdAt, int running, int missing);

    [LoggerMessage(8402, LogLevel.Warning, "Restore refused ({Refusal}): {Problems} problem(s); nothing was written")]
    public static partial void RestoreRefused(ILogger logger, Bpi.Orchestration.Backup.BackupRefusal refusal, int problems);

    [LoggerMessage(8403, LogLevel.Warning, "Restored deployment {DeploymentId}: no instance of its serving revision {Revision} runs")]
    public static partial void RestoredDeploymentMissing(ILogger logger, string deploymentId, int revision);

    [LoggerMessage(8404, LogLevel.Warning, "Backup written WITHOUT a signature (OrchestrationBackupOptions.AllowUnsigned): anyone who can write the file can rewrite the state it restores")]
    public static partial void BackupWrittenUnsigned(ILogger logger);

    [LoggerMessage(8405, LogLevel.Warning, "Restoring a backup WITHOUT checking a signature (OrchestrationBackupOptions.AllowUnsigned): nothing proves it was not rewritten")]
    public static partial void RestoringUnsigned(ILogger logger);

    [LoggerMessage(8450, LogLevel.Error, "The circuit breaker of {Target} opened: calls fail fast for {BreakSeconds} s")]
    public static partial void CircuitOpened(ILogger logger, Exception? exception, string target, double breakSeconds);

    [LoggerMessage(8451, LogLevel.Information, "The circuit breaker of {Target} is half-open: a trial call decides whether it closes")]
    public static partial void CircuitHalfOpened(ILogger logger, string target);

    [LoggerMessage(8452, LogLevel.Information, "The circuit breaker of {Target} closed: calls flow again")]
    public static partial void CircuitClosed(ILogger logger, string target);

    [LoggerMessage(8453, LogLevel.Warning, "A listener of the circuit breaker of {Target} failed; the state change stands")]
    public static partial void CircuitListenerFailed(ILogger logger, Exception exception, string target);
}
