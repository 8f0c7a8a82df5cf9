namespace Bpi.Orchestration.Components.Docker;

/// <summary>
/// A container failed to start: the engine refused to start it, or it exited within
/// <see cref="DockerRuntimeOptions.StartupCheckWindow"/>. Carries the exit code and the container's last log lines; the
/// container is kept for inspection until the revision is scaled down or the deployment removed.
/// <see cref="OrchestrationException.Kind"/> is <see cref="OrchestrationErrorKind.ContainerStartupFailed"/>.
/// </summary>
public sealed class ContainerStartupException : OrchestrationException
{
    internal ContainerStartupException(
        string instanceId,
        string deploymentId,
        string componentId,
        int revision,
        int? exitCode,
        IReadOnlyList<string> logTail,
        string reason,
        Exception? innerException = null)
        : base(OrchestrationErrorKind.ContainerStartupFailed, BuildMessage(instanceId, deploymentId, componentId, revision, exitCode, logTail, reason), [reason], innerException)
    {
        InstanceId = instanceId;
        DeploymentId = deploymentId;
        ComponentId = componentId;
        Revision = revision;
        ExitCode = exitCode;
        LogTail = logTail;
        Reason = reason;
    }

    /// <summary>The failed instance (the container's name).</summary>
    public string InstanceId { get; }

    /// <summary>The deployment the container belongs to.</summary>
    public string DeploymentId { get; }

    /// <summary>The component the container runs.</summary>
    public string ComponentId { get; }

    /// <summary>The revision the container runs.</summary>
    public int Revision { get; }

    /// <summary>The container's exit code, when it has one.</summary>
    public int? ExitCode { get; }

    /// <summary>The container's last log lines (stdout and stderr interleaved), oldest first, with the component's secret values redacted.</summary>
    public IReadOnlyList<string> LogTail { get; }

    /// <summary>Why it failed, in one sentence (the engine's message, or "exited with code N").</summary>
    public string Reason { get; }

    private static string BuildMessage(string instanceId, string deploymentId, string componentId, int revision, int? exitCode, IReadOnlyList<string> logTail, string reason)
    {
        var code = exitCode is { } c ? $" (exit code {c})" : "";
        var logs = logTail.Count == 0
            ? " It wrote no log lines."
            : $" Its last {logTail.Count} log line(s):" + string.Concat(logTail.Select(l => Environment.NewLine + "  | " + l));
        return $"Container '{instanceId}' of component '{componentId}' (deployment '{deploymentId}', revision {revision}) failed to start{code}: {reason}.{logs}"
            + Environment.NewLine + "Fix the image, command or settings and deploy again; the container is kept for inspection until the revision is removed.";
    }
}
