using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Tests.State;

/// <summary>
/// Core's in-memory store with a test's own behaviour around saves: reads and deletes go straight through, a derived
/// store decides what a save does before it reaches the inner store.
/// </summary>
internal abstract class InMemoryStoreDecorator : IDeploymentStore
{
    private readonly InMemoryDeploymentStore _inner = new();

    public abstract ValueTask<long> SaveAsync(DeploymentRecord record, CancellationToken cancellationToken = default);

    public ValueTask<DeploymentRecord?> GetAsync(string id, CancellationToken cancellationToken = default) => _inner.GetAsync(id, cancellationToken);

    public ValueTask<IReadOnlyList<DeploymentRecord>> ListAsync(CancellationToken cancellationToken = default) => _inner.ListAsync(cancellationToken);

    public ValueTask DeleteAsync(string id, CancellationToken cancellationToken = default) => _inner.DeleteAsync(id, cancellationToken);

    /// <summary>Saves <paramref name="record"/> in the inner store.</summary>
    protected ValueTask<long> SaveInnerAsync(DeploymentRecord record, CancellationToken cancellationToken) => _inner.SaveAsync(record, cancellationToken);
}
