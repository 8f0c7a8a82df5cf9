using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// The durable audit store: segment files in one directory, appends group-committed (many concurrent appends share
/// one fsync; each is acknowledged only after it), crash recovery on open, signed checkpoints, proofs and streaming
/// reads. The file format is documented in the package README. Open it with <see cref="OpenAsync"/>; dispose it to
/// sign a final checkpoint and release the directory.
/// </summary>
public sealed class FileAuditStore : IAuditStore, IAuditEngineOwner
{
    private readonly AuditLogEngine _engine;

    private FileAuditStore(string directory, AuditLogEngine engine)
    {
        DirectoryPath = directory;
        _engine = engine;
    }

    /// <summary>The full path of the store's directory.</summary>
    public string DirectoryPath { get; }

    /// <inheritdoc />
    public long Count => _engine.Count;

    /// <inheritdoc />
    public SignedCheckpoint? LatestCheckpoint => _engine.LatestCheckpoint;

    AuditLogEngine IAuditEngineOwner.Engine => _engine;

    /// <summary>
    /// Opens the store in <see cref="FileAuditStoreOptions.Path"/>, creating it when missing, and recovers it: a torn
    /// tail left by a crash is truncated (it was never acknowledged), the hash chain is re-checked and the Merkle tree
    /// and index are rebuilt. Refuses to open a log whose damage is not a torn write.
    /// </summary>
    /// <param name="options">The options; every problem is listed when they are invalid.</param>
    /// <param name="timeProvider">The clock for timestamps and the checkpoint timer; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="loggerFactory">Where to log; nowhere when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>The open store.</returns>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid (every problem is listed).</exception>
    /// <exception cref="AuditStoreException">The directory is in use, or the log is damaged.</exception>
    public static async ValueTask<FileAuditStore> OpenAsync(
        FileAuditStoreOptions options,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        return await Task.Run(() => Open(options, timeProvider, loggerFactory), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Opens synchronously (for dependency-injection factories, which cannot await).</summary>
    internal static FileAuditStore Open(FileAuditStoreOptions options, TimeProvider? timeProvider, ILoggerFactory? loggerFactory)
    {
        options.ThrowIfInvalid();

        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<FileAuditStore>();
        var tree = new MerkleTree();
        var (storage, lastHash, checkpoints) = FileAuditStorage.Open(options, tree, logger);
        if (options.CheckpointSigners.Count == 0)
        {
            Log.NoCheckpointSigner(logger, options.Path);
        }
        else if (tree.LeafCount == 0 && checkpoints.Count == 0)
        {
            // A checkpoint of the empty log before the first entry: a log with signers then always has one, so a
            // missing or emptied checkpoint file can never pass for a log that crashed before its first checkpoint.
            try
            {
                var genesis = SignedCheckpoint.Sign(options.Origin, 0, tree.Root(0), [.. options.CheckpointSigners]);
                storage.WriteCheckpointAsync(genesis, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                checkpoints.Add(genesis);
                Log.GenesisCheckpointSigned(logger, options.Path);
            }
            catch
            {
                storage.DisposeAsync().AsTask().GetAwaiter().GetResult();
                throw;
            }
        }

        var engine = new AuditLogEngine(options, storage, tree, lastHash, checkpoints, options.MaxBatchBytes, timeProvider ?? TimeProvider.System, logger);
        return new FileAuditStore(Path.GetFullPath(options.Path), engine);
    }

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

    /// <summary>Waits for queued appends, signs a final checkpoint (when there are signers) and closes the files.</summary>
    /// <returns>A task that completes when the store is closed.</returns>
    public ValueTask DisposeAsync() => _engine.DisposeAsync();
}
