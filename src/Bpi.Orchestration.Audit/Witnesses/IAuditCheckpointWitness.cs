namespace Bpi.Orchestration.Audit;

/// <summary>
/// Keeps a copy of a log's signed checkpoints outside the store's directory, the way RFC 9162 logs rely on witnesses:
/// someone who can write the store's files (even with the signing key) can roll the log back or rewrite it and re-sign,
/// but cannot change what the witness already holds. The store publishes every checkpoint it signs to each witness in
/// <see cref="AuditStoreOptions.Witnesses"/>; <see cref="FileAuditStore.OpenAsync"/> refuses a log the witness
/// contradicts, and <see cref="AuditVerifier.VerifyDirectoryAsync(string, CheckpointVerifier?, IReadOnlyList{IAuditCheckpointWitness}, CancellationToken)"/>
/// checks the log against the witness's newest checkpoint.
/// </summary>
public interface IAuditCheckpointWitness
{
    /// <summary>Where the witness keeps its copy (a path or a URL), for messages.</summary>
    string Description { get; }

    /// <summary>
    /// Hands a checkpoint to the witness. Publishing the checkpoint the witness already holds again must succeed and
    /// change nothing. A witness may refuse a checkpoint that is inconsistent with what it holds.
    /// </summary>
    /// <param name="checkpoint">The signed checkpoint.</param>
    /// <param name="cancellationToken">Cancels the publication.</param>
    /// <returns>A task that completes once the witness holds the checkpoint durably.</returns>
    /// <exception cref="AuditStoreException">The witness could not be reached or refused the checkpoint.</exception>
    ValueTask PublishAsync(SignedCheckpoint checkpoint, CancellationToken cancellationToken = default);

    /// <summary>The newest checkpoint the witness holds for the log <paramref name="origin"/>.</summary>
    /// <param name="origin">The log's origin line.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The checkpoint (its signatures not yet checked), or <see langword="null"/> when the witness holds none.</returns>
    /// <exception cref="AuditStoreException">The witness could not be read, or what it holds is damaged.</exception>
    ValueTask<SignedCheckpoint?> GetLatestAsync(string origin, CancellationToken cancellationToken = default);
}
