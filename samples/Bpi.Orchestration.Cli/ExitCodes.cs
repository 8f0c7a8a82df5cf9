namespace Bpi.Orchestration.Cli;

/// <summary>
/// The process exit codes of <c>bpi-orchestration</c>. They are part of the CLI's contract (documented in its README and
/// in <c>--help</c>): scripts and CI jobs branch on them, so a value never changes meaning.
/// </summary>
internal static class ExitCodes
{
    /// <summary>The command did what it was asked; a rollout it waited for ended Running.</summary>
    public const int Success = 0;

    /// <summary>The rollout failed and nothing serves, the demo did not behave as expected, or an unexpected error.</summary>
    public const int Failed = 1;

    /// <summary>The command line is wrong: unknown command or option, missing or malformed value.</summary>
    public const int UsageError = 2;

    /// <summary>The config file or spec is invalid (every problem is listed on stderr).</summary>
    public const int InvalidConfig = 3;

    /// <summary>The security gate refused the deployment.</summary>
    public const int SecurityRefused = 4;

    /// <summary>The rollout failed (or was aborted or rejected) and was rolled back: the previous revision serves.</summary>
    public const int RolledBack = 5;

    /// <summary>No deployment (or revision, or file) has that id.</summary>
    public const int NotFound = 6;

    /// <summary>The operation conflicts with the deployment's state, or another bpi-orchestration process holds the state directory.</summary>
    public const int Conflict = 7;

    /// <summary>The wait (<c>--timeout</c>) ended before the rollout settled; the rollout continues when an orchestrator runs.</summary>
    public const int Timeout = 8;

    /// <summary>The acting identity may not perform the operation.</summary>
    public const int Unauthorized = 9;

    /// <summary>The deployment does not fit the configured capacity; nothing was reserved.</summary>
    public const int InsufficientResources = 10;

    /// <summary>What the command needs to run is not there: <c>demo --runtime docker</c> without a Docker Engine that answers, or without <c>/bin/busybox</c> to build its image.</summary>
    public const int RuntimeUnavailable = 11;

    /// <summary><c>health</c>: a circuit breaker of the running orchestrator is open (calls to its target fail fast).</summary>
    public const int CircuitOpen = 12;

    /// <summary><c>restore</c>: the backup is damaged or was changed (a part's SHA-256, a record, the audit chain); nothing was restored.</summary>
    public const int BackupDamaged = 20;

    /// <summary><c>restore</c>: the backup was written in a newer format than this version reads; nothing was restored.</summary>
    public const int BackupTooNew = 21;

    /// <summary><c>restore</c>: the state directory already holds state and <c>--force</c> was not given; nothing was restored.</summary>
    public const int StateNotEmpty = 22;

    /// <summary><c>restore</c>: the backup is unsigned (without <c>--allow-unsigned</c>), its signature cannot be checked (no <c>--key</c>), or it does not verify with the trusted key; nothing was restored.</summary>
    public const int BackupSignatureRefused = 23;

    /// <summary>Interrupted by Ctrl+C (SIGINT) or SIGTERM.</summary>
    public const int Interrupted = 130;

    /// <summary>The table printed by <c>--help</c> and the README, in one place.</summary>
    public const string HelpText = """
        Exit codes:
          0    success (a rollout that was waited for ended Running)
          1    failed (the rollout failed and nothing serves, or an unexpected error)
          2    usage error (unknown command or option, bad value)
          3    invalid config (every problem is listed)
          4    refused by the security gate
          5    rolled back (the previous revision serves)
          6    not found
          7    conflict (wrong state for the operation, or the state directory is busy)
          8    timed out waiting (--timeout)
          9    unauthorized
          10   insufficient resources
          11   runtime unavailable (demo --runtime docker: no Docker Engine answers, or no /bin/busybox; health: the runtime does not answer)
          12   health: a circuit breaker is open
          20   restore: the backup is damaged or was changed (nothing restored)
          21   restore: the backup's format is newer than this version reads (nothing restored)
          22   restore: the state directory is not empty and --force was not given (nothing restored)
          23   restore: the backup is unsigned, or its signature is wrong or cannot be checked without --key (nothing restored)
          130  interrupted (Ctrl+C)
        """;

    /// <summary>Maps an SDK error to an exit code.</summary>
    /// <param name="kind">The error kind.</param>
    /// <returns>The exit code.</returns>
    public static int For(OrchestrationErrorKind kind) => kind switch
    {
        OrchestrationErrorKind.InvalidConfiguration => InvalidConfig,
        OrchestrationErrorKind.SecurityValidationFailed => SecurityRefused,
        OrchestrationErrorKind.NotFound => NotFound,
        OrchestrationErrorKind.Conflict => Conflict,
        OrchestrationErrorKind.Timeout => Timeout,
        OrchestrationErrorKind.Unauthorized => Unauthorized,
        OrchestrationErrorKind.InsufficientResources => InsufficientResources,
        _ => Failed,
    };

    /// <summary>Maps the state a waited-for rollout settled in to an exit code.</summary>
    /// <param name="state">The state.</param>
    /// <returns>The exit code.</returns>
    public static int For(DeploymentState state) => state switch
    {
        DeploymentState.RolledBack => RolledBack,
        DeploymentState.Failed => Failed,
        _ => Success,
    };
}
