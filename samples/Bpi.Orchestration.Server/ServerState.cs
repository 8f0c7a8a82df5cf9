using Bpi.Orchestration.Audit;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Server;

/// <summary>
/// Where the server keeps its deployment records and its audit trail: the one place that chooses between the file
/// stores in the state directory and PostgreSQL, so plugging the PostgreSql package's host extension in is a change
/// here only.
/// </summary>
internal static class ServerState
{
    public static void Add(IOrchestrationBuilder orchestration, ServerOptions options, string stateDirectory, CheckpointSigner signer)
    {
        if (ServerOptions.IsOneOf(options.State, "PostgreSql"))
        {
            // Bpi.Orchestration.PostgreSql has its shared store and audit chain, but no public host extension yet
            // (AddPostgreSqlState is being added, see its README's Status): refused at start rather than silently
            // falling back to the file store. With it, this branch becomes:
            //   orchestration.AddPostgreSqlState(options.PostgreSqlConnectionString!, configureAudit: o =>
            //   {
            //       o.Origin = options.VmId;
            //       o.CheckpointSigners.Add(signer);
            //   });
            //   return;
            throw new ServerConfigurationException([
                $"{ServerOptions.Section}:State: PostgreSql needs Bpi.Orchestration.PostgreSql's AddPostgreSqlState, which this build does not have yet; use State File (the default)."]);
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
