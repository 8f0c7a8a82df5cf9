using Bpi.Orchestration.Audit;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Server;

/// <summary>
/// Where the server keeps its deployment records and its audit trail: the one place that chooses between the file
/// stores in the state directory and the PostgreSql package's shared state.
/// </summary>
internal static class ServerState
{
    public static void Add(IOrchestrationBuilder orchestration, ServerOptions options, string stateDirectory, CheckpointSigner signer)
    {
        if (ServerOptions.IsOneOf(options.State, "PostgreSql"))
        {
            // One orchestrator over several servers: the deployment store, the ownership leases and one audit chain
            // (named by the VmId, signed with the shared key) in the database every server names.
            orchestration.AddPostgreSqlState(options.PostgreSqlConnectionString!, configureAudit: o =>
            {
                o.Origin = options.VmId;
                o.CheckpointSigners.Add(signer);
            });
            return;
        }

        orchestration
            .UseDeploymentStore(new FileDeploymentStore(Path.Combine(stateDirectory, "deployments")))
            .AddFileAuditStore(Path.Combine(stateDirectory, "audit"), o =>
            {
                o.Origin = options.VmId;
                o.CheckpointSigners.Add(signer);
            });
    }
}

/// <summary>The server's settings are invalid: every problem, by its configuration key.</summary>
internal sealed class ServerConfigurationException(IReadOnlyList<string> problems)
    : Exception("The server's configuration is invalid:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
