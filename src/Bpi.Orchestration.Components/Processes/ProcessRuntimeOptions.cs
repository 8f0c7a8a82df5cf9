using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Processes;

/// <summary>Options of the local-process runtime (<see cref="ProcessWorkloadRuntime"/>).</summary>
public sealed class ProcessRuntimeOptions
{
    /// <summary>
    /// Where the runtime keeps its state file (pids, start times and labels of the processes it started), a lock file
    /// and the working directories it creates. Two runtimes cannot share a directory. Keep it (and the orchestrator's
    /// <c>VmId</c>) stable across restarts so a restarted orchestrator finds and cleans up what the previous one left.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: <c>{Path.GetTempPath()}/bpi-orchestration/{vmId}</c>.</value>
    public string? StateDirectory { get; set; }

    /// <summary>How long a process may take to exit after SIGTERM before it and its whole process tree are killed (measured on the registered <see cref="TimeProvider"/>).</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan GracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many of the last output lines (stdout and stderr interleaved) are kept per instance, for <see cref="Runtime.IWorkloadRuntime.GetLogTailAsync"/> and as the start of <see cref="ProcessWorkloadRuntime.ReadLogsAsync"/>.</summary>
    /// <value>The default value is 200.</value>
    public int LogLines { get; set; } = 200;

    /// <summary>The longest output line kept; longer lines are cut and marked with <c>…</c>.</summary>
    /// <value>The default value is 8192 characters.</value>
    public int MaxLineLength { get; set; } = 8192;

    /// <summary>
    /// Whether an instance of a component with ports stays <c>Starting</c> until its first TCP port accepts a
    /// connection. When <see langword="false"/>, an instance is <c>Running</c> as soon as its process has started and
    /// readiness is left to health probes.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool WaitForPorts { get; set; } = true;

    /// <summary>How often a starting instance's port is tried (see <see cref="WaitForPorts"/>).</summary>
    /// <value>The default value is 100 milliseconds.</value>
    public TimeSpan PortCheckInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Whether processes inherit the orchestrator's environment variables (PATH, HOME, DOTNET_ROOT, …) before the component's own are applied. Turn it off to hand workloads only what the spec says (PATH is still passed).</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool InheritEnvironment { get; set; } = true;

    /// <summary>
    /// Whether each instance runs in its own session and process group (started through <c>setsid</c>, which keeps the
    /// pid). The group lets the runtime kill everything an instance spawned, even children it orphaned, and keeps
    /// terminal signals (Ctrl+C) of the orchestrator away from workloads. Ignored where <c>setsid</c> is not found.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool UseProcessGroups { get; set; } = true;

    /// <summary>The <c>dotnet</c> host used to run components whose <see cref="CommandSpec.FileName"/> is a <c>.dll</c> or a <c>.csproj</c>.</summary>
    /// <value>The default value is <see langword="null"/>: <c>DOTNET_HOST_PATH</c>, then the host running the orchestrator, then <c>dotnet</c> on PATH.</value>
    public string? DotnetHostPath { get; set; }
}

/// <summary>Checks <see cref="ProcessRuntimeOptions"/> and lists every problem.</summary>
internal sealed class ProcessRuntimeOptionsValidator : IValidateOptions<ProcessRuntimeOptions>
{
    public ValidateOptionsResult Validate(string? name, ProcessRuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.StateDirectory is { } dir && (string.IsNullOrWhiteSpace(dir) || dir.IndexOfAny(Path.GetInvalidPathChars()) >= 0))
        {
            errors.Add($"{nameof(ProcessRuntimeOptions)}.{nameof(ProcessRuntimeOptions.StateDirectory)}: '{dir}' is not a valid path; set a writable directory or leave it null for the default.");
        }

        if (options.GracePeriod < TimeSpan.Zero)
        {
            errors.Add($"{nameof(ProcessRuntimeOptions)}.{nameof(ProcessRuntimeOptions.GracePeriod)}: {options.GracePeriod} is negative; use zero (stop at once) or more.");
        }

        if (options.LogLines < 0)
        {
            errors.Add($"{nameof(ProcessRuntimeOptions)}.{nameof(ProcessRuntimeOptions.LogLines)}: {options.LogLines} is negative; use zero (keep no lines) or more.");
        }

        if (options.MaxLineLength < 16)
        {
            errors.Add($"{nameof(ProcessRuntimeOptions)}.{nameof(ProcessRuntimeOptions.MaxLineLength)}: {options.MaxLineLength} is less than 16; use 16 or more characters.");
        }

        if (options.PortCheckInterval <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(ProcessRuntimeOptions)}.{nameof(ProcessRuntimeOptions.PortCheckInterval)}: {options.PortCheckInterval} is not positive; use a duration greater than zero.");
        }

        if (options.DotnetHostPath is { } host && string.IsNullOrWhiteSpace(host))
        {
            errors.Add($"{nameof(ProcessRuntimeOptions)}.{nameof(ProcessRuntimeOptions.DotnetHostPath)}: blank; leave it null to find dotnet automatically.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
