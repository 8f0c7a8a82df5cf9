namespace Bpi.Orchestration.Runtime;

/// <summary>
/// An optional capability of an <see cref="IWorkloadRuntime"/>: run a command inside a running instance (as
/// <c>docker exec</c> or <c>kubectl exec</c> do). Exec health probes use it when the registered runtime implements it;
/// with a runtime that does not, they fail with a message that says so.
/// </summary>
public interface IWorkloadCommandRunner
{
    /// <summary>Runs a command inside an instance and waits for it to exit.</summary>
    /// <param name="instance">The instance to run the command in.</param>
    /// <param name="command">The program and its arguments, one per element (no shell quoting).</param>
    /// <param name="cancellationToken">Cancels the command (the runtime stops it where it can).</param>
    /// <returns>The exit code and what the command wrote.</returns>
    /// <exception cref="OrchestrationException">The command could not be started (<see cref="OrchestrationErrorKind.NotFound"/> for an unknown instance, <see cref="OrchestrationErrorKind.RuntimeUnavailable"/>, …).</exception>
    ValueTask<CommandResult> ExecAsync(WorkloadInstance instance, IReadOnlyList<string> command, CancellationToken cancellationToken = default);
}

/// <summary>The result of a command run inside an instance.</summary>
/// <param name="ExitCode">The exit code; 0 means success.</param>
/// <param name="Output">What the command wrote (stdout and stderr interleaved), possibly truncated by the runtime.</param>
public sealed record CommandResult(int ExitCode, string Output);
