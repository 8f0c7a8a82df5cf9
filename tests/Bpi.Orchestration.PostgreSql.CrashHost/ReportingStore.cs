using Bpi.Orchestration.State;

namespace Bpi.Orchestration.PostgreSql.CrashHost;

/// <summary>The shared store, reporting on stdout every write refused by fencing or by the version check.</summary>
internal sealed class ReportingStore(IDeploymentStore inner, TextWriter stdout) : IDeploymentStore
{
    public async ValueTask<long> SaveAsync(DeploymentRecord record, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.SaveAsync(record, cancellationToken);
        }
        catch (OrchestrationException ex) when (ex.Kind == OrchestrationErrorKind.Conflict)
        {
            stdout.WriteLine($"refused {record.Id} token={record.FencingToken} {ex.Message.ReplaceLineEndings(" ")}");
            stdout.Flush();
            throw;
        }
    }

    public ValueTask<DeploymentRecord?> GetAsync(string id, CancellationToken cancellationToken = default) => inner.GetAsync(id, cancellationToken);

    public ValueTask<IReadOnlyList<DeploymentRecord>> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);

    public ValueTask DeleteAsync(string id, CancellationToken cancellationToken = default) => inner.DeleteAsync(id, cancellationToken);
}
