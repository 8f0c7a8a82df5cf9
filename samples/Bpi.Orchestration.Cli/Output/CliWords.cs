namespace Bpi.Orchestration.Cli.Output;

/// <summary>
/// The SDK's error messages say what to do next in terms of its API (<c>ListAsync</c>, <c>ProcessRuntimeOptions.StateDirectory</c>):
/// right for a host application, meaningless to a person at the command line. This table says it in the CLI's words;
/// it is applied where the CLI turns an exception into a message, so no command needs its own translation.
/// </summary>
internal static class CliWords
{
    private static readonly (string Sdk, string Cli)[] Words =
    [
        ("list deployments with ListAsync to find its id", "list them with `bpi-orchestration list-deployments` to find its id"),
        ("list the deployments to find its id", "list them with `bpi-orchestration list-deployments` to find its id"),
        ("move it out of the store's directory", "move it out of the state directory's deployments/ folder"),
        ("update it with UpdateAsync", "update it with `bpi-orchestration update -d <id> --config <file>`"),
        ("deploy to another environment with DeployAsync", "deploy to another environment with `bpi-orchestration deploy`"),
        ("roll back with RollbackAsync", "roll back with `bpi-orchestration rollback -d <id>`"),
        ("check the deployment's current step with GetStatusAsync", "check the deployment's current step with `bpi-orchestration status -d <id>`"),
        ("run AuditVerifier.VerifyDirectoryAsync for details", "run `bpi-orchestration audit verify` for details"),
        ("run AuditVerifier.VerifyDirectoryAsync", "run `bpi-orchestration audit verify`"),
        ("choose a writable ProcessRuntimeOptions.StateDirectory", "choose a writable --state-dir"),
        ("Give each orchestrator its own ProcessRuntimeOptions.StateDirectory (or VmId)", "Give each orchestrator its own --state-dir"),
        ("create a new one to accept work", "run the command again"),
    ];

    /// <summary>The message with every SDK phrase replaced by its CLI equivalent.</summary>
    public static string Apply(string message)
    {
        foreach (var (sdk, cli) in Words)
        {
            message = message.Replace(sdk, cli, StringComparison.Ordinal);
        }

        return message;
    }
}
