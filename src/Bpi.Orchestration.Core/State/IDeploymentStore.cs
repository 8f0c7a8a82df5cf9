namespace Bpi.Orchestration.State;

/// <summary>
/// Keeps deployment records, their retained revisions and the executor's cursor. Core ships the in-memory store;
/// durable stores (file, PostgreSQL) plug in here so state survives restarts and can be shared.
/// </summary>
/// <remarks>Implementations must be safe for concurrent calls. <see cref="SaveAsync"/> replaces the record with the same id.</remarks>
public interface IDeploymentStore
{
    /// <summary>Inserts or replaces a record.</summary>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the record is stored.</returns>
    ValueTask SaveAsync(DeploymentRecord record, CancellationToken cancellationToken = default);

    /// <summary>Reads a record.</summary>
    /// <param name="id">The deployment id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The record, or <see langword="null"/> when there is none.</returns>
    ValueTask<DeploymentRecord?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Reads every record.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>All records, in no particular order.</returns>
    ValueTask<IReadOnlyList<DeploymentRecord>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes a record. Idempotent.</summary>
    /// <param name="id">The deployment id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the record is gone.</returns>
    ValueTask DeleteAsync(string id, CancellationToken cancellationToken = default);
}
