namespace Bpi.Orchestration.Audit;

/// <summary>
/// An audit store kept in memory: the same entries, hash chain, Merkle proofs, checkpoints, verification and export
/// as <see cref="FileAuditStore"/>, but nothing survives the process. For tests and hosts that forward the audit
/// trail elsewhere.
/// </summary>
public sealed class InMemoryAuditStore : IAuditStore, IAuditEngineOwner
{
    private readonly AuditLogEngine _engine;

    /// <summary>Creates an empty store.</summary>
    /// <param name="options">The options; defaults when <see langword="null"/>. Every problem is listed when they are invalid.</param>
    /// <param name="timeProvider">The clock for timestamps and the checkpoint timer; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid (every problem is listed).</exception>
    public InMemoryAuditStore(InMemoryAuditStoreOptions? options = null, TimeProvider? timeProvider = null)
    {
        options ??= new InMemoryAuditStoreOptions();
        options.ThrowIfInvalid();

        _engine = new AuditLogEngine(
            options, new MemoryAuditStorage(), new MerkleTree(), AuditHash.Zero, [], maxBatchBytes: 8 * 1024 * 1024,
            timeProvider ?? TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
    }

    /// <inheritdoc />
    public long Count => _engine.Count;

    /// <inheritdoc />
    public SignedCheckpoint? LatestCheckpoint => _engine.LatestCheckpoint;

    AuditLogEngine IAuditEngineOwner.Engine => _engine;

    /// <inheritdoc />
    public ValueTask<AuditAppendReceipt> AppendAsync(NewAuditEntry entry, CancellationToken cancellationToken = default) =>
        _engine.AppendAsync(entry, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<AuditEntry> ReadAsync(long fromSequence = 0, long? count = null, CancellationToken cancellationToken = default) =>
        AuditStoreOperations.ReadAsync(_engine, fromSequence, count, cancellationToken);

    /// <inheritdoc />
    public ValueTask<AuditEntry> GetEntryAsync(long sequence, CancellationToken cancellationToken = default) =>
        AuditStoreOperations.GetEntryAsync(_engine, sequence, cancellationToken);

    /// <inheritdoc />
    public AuditHash GetRootHash(long? treeSize = null) => AuditStoreOperations.GetRootHash(_engine, treeSize);

    /// <inheritdoc />
    public InclusionProof GetInclusionProof(long sequence, long? treeSize = null) =>
        AuditStoreOperations.GetInclusionProof(_engine, sequence, treeSize);

    /// <inheritdoc />
    public ConsistencyProof GetConsistencyProof(long fromSize, long? toSize = null) =>
        AuditStoreOperations.GetConsistencyProof(_engine, fromSize, toSize);

    /// <inheritdoc />
    public ValueTask<SignedCheckpoint> CreateCheckpointAsync(CancellationToken cancellationToken = default) =>
        _engine.CreateCheckpointAsync(cancellationToken);

    /// <summary>Stops the writer; the entries stay readable until the store is collected.</summary>
    /// <returns>A task that completes when the writer has stopped.</returns>
    public ValueTask DisposeAsync() => _engine.DisposeAsync();
}
