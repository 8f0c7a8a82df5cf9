using System.Collections.Concurrent;

namespace Bpi.Orchestration.State;

/// <summary>The default <see cref="IDeploymentStore"/>: records live in memory and are lost when the process ends.</summary>
public sealed class InMemoryDeploymentStore : IDeploymentStore
{
    private readonly ConcurrentDictionary<string, DeploymentRecord> _records = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public ValueTask SaveAsync(DeploymentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        _records[record.Id] = record;
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<DeploymentRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(_records.TryGetValue(id, out var record) ? record : null);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<DeploymentRecord>> ListAsync(CancellationToken cancellationToken = default)
        => ValueTask.FromResult<IReadOnlyList<DeploymentRecord>>([.. _records.Values]);

    /// <inheritdoc />
    public ValueTask DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        _records.TryRemove(id, out _);
        return ValueTask.CompletedTask;
    }
}
