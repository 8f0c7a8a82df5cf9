using System.Runtime.InteropServices;
using Bpi.Orchestration.Threading;

namespace Bpi.Orchestration.State;

/// <summary>The default <see cref="IDeploymentStore"/>: records live in memory and are lost when the process ends.</summary>
public sealed class InMemoryDeploymentStore : IRestorableDeploymentStore
{
    // One lock around a plain dictionary: a save must check and replace under one lock anyway, and a concurrent
    // dictionary would add its own bucket lock (and a node per write) inside it. Reads are rare next to saves.
    private readonly Dictionary<string, DeploymentRecord> _records = new(StringComparer.Ordinal);
    private SpinLock _spin = LeafLock.Create(); // leaf sections only: see LeafLock

    /// <inheritdoc />
    public ValueTask<long> SaveAsync(DeploymentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        using (LeafLock.Enter(ref _spin))
        {
            // One hash lookup for the check and the write.
            ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_records, record.Id, out var exists);
            var stored = exists ? slot : null;
            try
            {
                DeploymentStoreWrites.EnsureCanReplace(record, stored?.Version ?? 0, stored?.FencingToken ?? 0);
            }
            catch (OrchestrationException) when (!exists)
            {
                // The lookup added an empty entry for the id: a refused first write leaves nothing stored.
                _records.Remove(record.Id);
                throw;
            }

            var version = record.Version + 1;

            // The caller's instance itself, stamped with its new version here (the caller stamps it again, to the same
            // value, after this returns): a record is immutable but for that stamp, so no copy is needed to keep it.
            slot = record.StoredAs(version);
            return ValueTask.FromResult(version);
        }
    }

    /// <inheritdoc />
    public ValueTask<DeploymentRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        using (LeafLock.Enter(ref _spin))
        {
            return ValueTask.FromResult(_records.TryGetValue(id, out var record) ? record : null);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<DeploymentRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        using (LeafLock.Enter(ref _spin))
        {
            return ValueTask.FromResult<IReadOnlyList<DeploymentRecord>>([.. _records.Values]);
        }
    }

    /// <inheritdoc />
    public ValueTask ReplaceAllAsync(IReadOnlyList<DeploymentRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        using (LeafLock.Enter(ref _spin))
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
        using (LeafLock.Enter(ref _spin))
        {
            _records.Remove(id);
        }

        return ValueTask.CompletedTask;
    }
}
