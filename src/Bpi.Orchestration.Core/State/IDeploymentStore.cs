namespace Bpi.Orchestration.State;

/// <summary>
/// Keeps deployment records, their retained revisions and the executor's cursor. Core ships the in-memory store;
/// durable stores (file, PostgreSQL) plug in here so state survives restarts and can be shared.
/// </summary>
/// <remarks>
/// Implementations must be safe for concurrent calls. Every store keeps the same write semantics, so several
/// orchestrator instances can share one (see <see cref="SaveAsync"/>): a stored record has a version (optimistic
/// concurrency) and the fencing token it was written with; <see cref="DeploymentStoreWrites.EnsureCanReplace"/> is the
/// rule, checked atomically with the write.
/// </remarks>
public interface IDeploymentStore
{
    /// <summary>
    /// Inserts or replaces a record, atomically and only when (1) the stored version equals
    /// <see cref="DeploymentRecord.Version"/> (0: no record with this id is stored) and (2) the stored fencing token is
    /// not above <see cref="DeploymentRecord.FencingToken"/>. The record is stored as version
    /// <see cref="DeploymentRecord.Version"/> + 1 with its fencing token.
    /// </summary>
    /// <param name="record">The record, as read (its version) and stamped with the writer's fencing token.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored version.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.Conflict"/>: the record changed since it was read, or a newer owner (a higher fencing token) wrote it.</exception>
    ValueTask<long> SaveAsync(DeploymentRecord record, CancellationToken cancellationToken = default);

    /// <summary>Reads a record.</summary>
    /// <param name="id">The deployment id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The record, or <see langword="null"/> when there is none.</returns>
    ValueTask<DeploymentRecord?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Reads every record.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>All records, in no particular order.</returns>
    ValueTask<IReadOnlyList<DeploymentRecord>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes a record. Idempotent. Only destroyed records are deleted (destroy is final), so deletes are not fenced.</summary>
    /// <param name="id">The deployment id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the record is gone.</returns>
    ValueTask DeleteAsync(string id, CancellationToken cancellationToken = default);
}
