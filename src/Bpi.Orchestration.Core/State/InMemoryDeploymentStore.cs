using System.Collections.Concurrent;

namespace Bpi.Orchestration.State;

/// <summary>The default <see cref="IDeploymentStore"/>: records live in memory and are lost when the process ends.</summary>
public sealed class InMemoryDeploymentStore : IRestorableDeploymentStore
{
    private readonly ConcurrentDictionary<string, DeploymentRecord> _records = new(StringComparer.Ordinal);
    private readonly Lock _writes = new();

    /// <inheritdoc />
    public ValueTask<long> SaveAsync(DeploymentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_writes)
        {
            var stored = _records.TryGetValue(record.Id, out var current) ? current : null;
            DeploymentStoreWrites.EnsureCanReplace(record, stored?.Version ?? 0, stored?.FencingToken ?? 0);
            var version = record.Version + 1;

            // The caller's instance itself, stamped with its new version here (the caller stamps it again, to the same
            // value, after this returns): a record is immutable but for that stamp, so no copy is needed to keep it.
            _records[record.Id] = record.StoredAs(version);
            return ValueTask.FromResult(version);
        }
    }

    /// <inheritdoc />
    public ValueTask<DeploymentRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(_records.TryGetValue(id, out var record) ? record : null);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<DeploymentRecord>> ListAsync(CancellationToken cancellationToken = default)
        => ValueTask.FromResult<IReadOnlyList<DeploymentRecord>>([.. _records.Values]);

    /// <inheritdoc />
    public ValueTask ReplaceAllAsync(IReadOnlyList<DeploymentRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        lock (_writes)
        {
            _records.Clear();
            foreach (var record in records)
            {
                _records[record.Id] = record with { FencingToken = 0 };
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        lock (_writes)
        {
            _records.TryRemove(id, out _);
        }

        return ValueTask.CompletedTask;
    }
}
