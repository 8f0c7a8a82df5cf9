namespace Bpi.Orchestration.Audit;

/// <summary>
/// An append-only, hash-chained audit log with a Merkle tree over its entries. Implemented by
/// <see cref="FileAuditStore"/> (durable) and <see cref="InMemoryAuditStore"/> (tests and ephemeral hosts). Safe for
/// concurrent use.
/// </summary>
public interface IAuditStore : IAsyncDisposable
{
    /// <summary>The number of committed entries (the current tree size).</summary>
    long Count { get; }

    /// <summary>The newest signed checkpoint, or <see langword="null"/> when none was signed yet.</summary>
    SignedCheckpoint? LatestCheckpoint { get; }

    /// <summary>Appends one entry and returns once it is committed (for the file store: after its fsync).</summary>
    /// <param name="entry">The entry; invalid fields are all listed in an <see cref="ArgumentException"/>.</param>
    /// <param name="cancellationToken">Stops waiting; the entry may or may not be stored.</param>
    /// <returns>The entry's sequence number, timestamp and hash.</returns>
    ValueTask<AuditAppendReceipt> AppendAsync(NewAuditEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Streams committed entries in order, from <paramref name="fromSequence"/>.</summary>
    /// <param name="fromSequence">The first entry to read.</param>
    /// <param name="count">How many to read at most; <see langword="null"/> reads up to the committed size at the time of the call.</param>
    /// <param name="cancellationToken">Stops the stream.</param>
    /// <returns>The entries, each decoded and with its CRC checked.</returns>
    IAsyncEnumerable<AuditEntry> ReadAsync(long fromSequence = 0, long? count = null, CancellationToken cancellationToken = default);

    /// <summary>Reads one committed entry.</summary>
    /// <param name="sequence">The entry's sequence number.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The entry.</returns>
    ValueTask<AuditEntry> GetEntryAsync(long sequence, CancellationToken cancellationToken = default);

    /// <summary>The RFC 9162 root hash of the first <paramref name="treeSize"/> entries.</summary>
    /// <param name="treeSize">The tree size; <see langword="null"/> for <see cref="Count"/>.</param>
    /// <returns>The root hash.</returns>
    AuditHash GetRootHash(long? treeSize = null);

    /// <summary>The proof that entry <paramref name="sequence"/> is in the tree of <paramref name="treeSize"/> entries.</summary>
    /// <param name="sequence">The entry.</param>
    /// <param name="treeSize">The tree size (above <paramref name="sequence"/>); <see langword="null"/> for <see cref="Count"/>.</param>
    /// <returns>The proof.</returns>
    InclusionProof GetInclusionProof(long sequence, long? treeSize = null);

    /// <summary>The proof that the tree of <paramref name="toSize"/> entries extends the one of <paramref name="fromSize"/>.</summary>
    /// <param name="fromSize">The older size, at least 1.</param>
    /// <param name="toSize">The newer size; <see langword="null"/> for <see cref="Count"/>.</param>
    /// <returns>The proof.</returns>
    ConsistencyProof GetConsistencyProof(long fromSize, long? toSize = null);

    /// <summary>Signs a checkpoint of everything committed so far (or returns the latest one if nothing was added since).</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The checkpoint.</returns>
    /// <exception cref="AuditStoreException">The store has no <see cref="AuditStoreOptions.CheckpointSigners"/>.</exception>
    ValueTask<SignedCheckpoint> CreateCheckpointAsync(CancellationToken cancellationToken = default);
}

/// <summary>Gives the verifier and the exporter access to a store's engine.</summary>
internal interface IAuditEngineOwner
{
    AuditLogEngine Engine { get; }
}
