using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// An audit store over an <see cref="AuditStorage"/> of your own: the same canonical encoding, group-committed
/// sequencing, hash chain, RFC 9162 Merkle proofs, signed checkpoints (with witnesses), verification
/// (<see cref="AuditVerifier"/>) and export (<see cref="AuditExport"/>) as <see cref="FileAuditStore"/>, with only the
/// bytes kept elsewhere. Derive from it, create the storage in a static factory and call
/// <see cref="OpenStorageAsync"/> before handing the store out.
/// </summary>
public abstract class AuditLogStore : IAuditStore, IAuditEngineOwner
{
    private AuditLogEngine? _engine;

    /// <summary>Creates a store that is not open yet; call <see cref="OpenStorageAsync"/> before using it.</summary>
    protected AuditLogStore()
    {
    }

    /// <inheritdoc />
    public long Count => Engine.Count;

    /// <inheritdoc />
    public SignedCheckpoint? LatestCheckpoint => Engine.LatestCheckpoint;

    AuditLogEngine IAuditEngineOwner.Engine => Engine;

    private AuditLogEngine Engine => _engine ?? throw new InvalidOperationException("The audit store is not open: its factory did not complete OpenStorageAsync.");

    /// <inheritdoc />
    public ValueTask<AuditAppendReceipt> AppendAsync(NewAuditEntry entry, CancellationToken cancellationToken = default) =>
        Engine.AppendAsync(entry, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<AuditEntry> ReadAsync(long fromSequence = 0, long? count = null, CancellationToken cancellationToken = default) =>
        AuditStoreOperations.ReadAsync(Engine, fromSequence, count, cancellationToken);

    /// <inheritdoc />
    public ValueTask<AuditEntry> GetEntryAsync(long sequence, CancellationToken cancellationToken = default) =>
        AuditStoreOperations.GetEntryAsync(Engine, sequence, cancellationToken);

    /// <inheritdoc />
    public AuditHash GetRootHash(long? treeSize = null) => AuditStoreOperations.GetRootHash(Engine, treeSize);

    /// <inheritdoc />
    public InclusionProof GetInclusionProof(long sequence, long? treeSize = null) =>
        AuditStoreOperations.GetInclusionProof(Engine, sequence, treeSize);

    /// <inheritdoc />
    public ConsistencyProof GetConsistencyProof(long fromSize, long? toSize = null) =>
        AuditStoreOperations.GetConsistencyProof(Engine, fromSize, toSize);

    /// <inheritdoc />
    public ValueTask<SignedCheckpoint> CreateCheckpointAsync(CancellationToken cancellationToken = default) =>
        Engine.CreateCheckpointAsync(cancellationToken);

    /// <summary>
    /// Takes in the entries other writers of a shared storage appended since this store last looked (each is checked
    /// as it is read), so <see cref="Count"/>, reads and proofs cover them.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when <see cref="Count"/> covers every entry committed before the call.</returns>
    public ValueTask RefreshAsync(CancellationToken cancellationToken = default) => Engine.RefreshAsync(cancellationToken);

    /// <summary>Waits for queued appends, signs a final checkpoint (when there are signers) and releases the storage.</summary>
    /// <returns>A task that completes when the store is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        await DisposeAsyncCore().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Closes the log and its storage; override to release what the derived store owns as well (call the base).</summary>
    /// <returns>A task that completes when the store is closed.</returns>
    protected virtual ValueTask DisposeAsyncCore() => _engine?.DisposeAsync() ?? ValueTask.CompletedTask;

    /// <summary>
    /// Opens the log on <paramref name="storage"/>, which the store then owns (it is disposed with the store, or here
    /// when opening fails): validates <paramref name="options"/>, reads the stored checkpoints and every stored entry up
    /// to the storage's head, checking each (CRC, sequence number, hash chain, head hash) while the Merkle tree is
    /// rebuilt, checks every checkpoint against the tree and, when there are signers and nothing is stored yet, signs
    /// a checkpoint of the empty log.
    /// </summary>
    /// <param name="storage">The storage; it must report its head (<see cref="AuditStorage.ReadHeadAsync"/>).</param>
    /// <param name="options">The log's options (origin, signers, witnesses, batching).</param>
    /// <param name="timeProvider">The clock for timestamps and the checkpoint timer; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="logger">Where to log; nowhere when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>A task that completes when the store is open.</returns>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid (every problem is listed).</exception>
    /// <exception cref="AuditStoreException">The stored log does not verify.</exception>
    /// <exception cref="InvalidOperationException">The store is already open.</exception>
    protected async ValueTask OpenStorageAsync(
        AuditStorage storage,
        AuditStoreOptions options,
        TimeProvider? timeProvider = null,
        ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(options);
        if (_engine is not null)
        {
            throw new InvalidOperationException("The audit store is already open.");
        }

        AuditLogEngine? engine = null;
        try
        {
            options.ThrowIfInvalid();

            if (await storage.ReadHeadAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                throw new AuditStoreException($"The audit storage {storage.GetType().Name} reports no head (ReadHeadAsync returned null): a storage opened by AuditLogStore must report it, so the stored entries are read and checked.");
            }

            var checkpoints = new List<SignedCheckpoint>();
            foreach (var note in await storage.ReadCheckpointsAsync(cancellationToken).ConfigureAwait(false))
            {
                checkpoints.Add(SignedCheckpoint.Parse(note, out var error)
                    ?? throw new AuditStoreException($"A stored checkpoint of audit log '{options.Origin}' does not parse ({error}): the storage was changed. Verify the log from an export."));
            }

            checkpoints.Sort((a, b) => a.TreeSize.CompareTo(b.TreeSize));
            engine = new AuditLogEngine(
                options, storage, new MerkleTree(), AuditHash.Zero, checkpoints, maxBatchBytes: 8 * 1024 * 1024,
                timeProvider ?? TimeProvider.System, logger ?? NullLogger.Instance);

            // Reads and checks every stored entry: the same catch-up the writer does before each batch.
            try
            {
                await engine.RefreshAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (AuditStoreException ex) when (ex.InnerException is AuditStoreException cause)
            {
                // The engine stopped on what it found: say that, not "failed to write".
                throw new AuditStoreException($"The audit log '{options.Origin}' could not be opened: {cause.Message}", cause);
            }

            foreach (var checkpoint in checkpoints)
            {
                if (checkpoint.TreeSize > engine.Count || engine.Tree.Root(checkpoint.TreeSize) != checkpoint.RootHash)
                {
                    throw new AuditStoreException($"The stored checkpoint at tree size {checkpoint.TreeSize} of log '{options.Origin}' does not match the stored entries: entries were changed or removed. Verify the log from an export.");
                }
            }

            if (options.CheckpointSigners.Count > 0 && checkpoints.Count == 0 && engine.Count == 0)
            {
                // A checkpoint of the empty log before the first entry, as the file store signs one.
                await engine.CreateCheckpointAsync(cancellationToken).ConfigureAwait(false);
            }

            _engine = engine;
        }
        catch
        {
            if (engine is not null)
            {
                await engine.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                await storage.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }
}
