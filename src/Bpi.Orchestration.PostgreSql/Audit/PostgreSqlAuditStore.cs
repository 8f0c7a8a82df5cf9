using Bpi.Orchestration.Audit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bpi.Orchestration.PostgreSql;

/// <summary>Options of <see cref="PostgreSqlAuditStore"/>: the shared database, plus everything every audit store has.</summary>
public sealed class PostgreSqlAuditStoreOptions : AuditStoreOptions
{
    /// <summary>The Npgsql connection string of the shared database (required).</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>The schema that holds the tables (the one the deployment state uses); created at start when missing.</summary>
    /// <value>The default value is <c>bpi_orchestration</c>.</value>
    public string Schema { get; set; } = "bpi_orchestration";
}

/// <summary>
/// The audit store of several orchestrator instances: one hash chain in PostgreSQL (the log named by
/// <see cref="AuditStoreOptions.Origin"/>) that every instance appends to, with the same canonical encoding, hash chain,
/// RFC 9162 Merkle proofs, signed checkpoints, verification and export as <see cref="FileAuditStore"/> — it is the same
/// engine on another storage. Appends are group-committed: every entry queued while a transaction runs goes into the
/// next one. <see cref="IAuditStore.Count"/> and proofs cover this instance's appends and everything before them;
/// <see cref="RefreshAsync"/> takes in what other instances appended since.
/// </summary>
public sealed class PostgreSqlAuditStore : IAuditStore, IAuditEngineOwner
{
    private readonly AuditLogEngine _engine;
    private readonly PostgreSqlDatabase? _ownedDatabase;

    private PostgreSqlAuditStore(AuditLogEngine engine, PostgreSqlDatabase? ownedDatabase)
    {
        _engine = engine;
        _ownedDatabase = ownedDatabase;
    }

    /// <inheritdoc />
    public long Count => _engine.Count;

    /// <inheritdoc />
    public SignedCheckpoint? LatestCheckpoint => _engine.LatestCheckpoint;

    AuditLogEngine IAuditEngineOwner.Engine => _engine;

    /// <summary>
    /// Opens the log (creating the schema and the log when missing), reads and checks every stored entry (CRC, sequence,
    /// hash chain) to rebuild the Merkle tree, and checks every stored checkpoint against it.
    /// </summary>
    /// <param name="options">The options; every problem is listed when they are invalid.</param>
    /// <param name="timeProvider">The clock for timestamps and the checkpoint timer; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="loggerFactory">Where to log; nowhere when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>The open store.</returns>
    /// <exception cref="AuditStoreException">The options are invalid, or the stored log does not verify.</exception>
    public static async ValueTask<PostgreSqlAuditStore> OpenAsync(
        PostgreSqlAuditStoreOptions options,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>(options.Validate());
        var state = new PostgreSqlStateOptions { ConnectionString = options.ConnectionString, Schema = options.Schema };
        errors.AddRange(state.Validate());
        if (errors.Count > 0)
        {
            throw new AuditStoreException("The PostgreSQL audit store options are invalid; fix every item:", errors);
        }

        var database = new PostgreSqlDatabase(state);
        try
        {
            return await OpenAsync(database, options, timeProvider, loggerFactory, ownsDatabase: true, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await database.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Opens the log on a database the caller shares (and disposes) itself.</summary>
    internal static async ValueTask<PostgreSqlAuditStore> OpenAsync(
        PostgreSqlDatabase database,
        AuditStoreOptions options,
        TimeProvider? timeProvider,
        ILoggerFactory? loggerFactory,
        bool ownsDatabase,
        CancellationToken cancellationToken)
    {
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<PostgreSqlAuditStore>();
        var storage = new PostgreSqlAuditStorage(database, options.Origin);
        AuditLogEngine? engine = null;
        try
        {
            await storage.InitializeAsync(cancellationToken).ConfigureAwait(false);
            var checkpoints = await storage.ReadCheckpointsAsync(cancellationToken).ConfigureAwait(false);
            engine = new AuditLogEngine(options, storage, new MerkleTree(), AuditHash.Zero, checkpoints, maxBatchBytes: 8 * 1024 * 1024, timeProvider ?? TimeProvider.System, logger);

            // Reads and checks every stored entry: the same catch-up the writer does before each batch.
            try
            {
                await engine.RefreshAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (AuditStoreException ex) when (ex.InnerException is AuditStoreException cause)
            {
                // The engine stopped on what it found: say that, not "failed to write".
                throw new AuditStoreException($"The audit log '{options.Origin}' in PostgreSQL could not be opened: {cause.Message}", cause);
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

            return new PostgreSqlAuditStore(engine, ownsDatabase ? database : null);
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

    /// <summary>Takes in the entries and checkpoints other instances appended since this store last looked.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when <see cref="Count"/> covers every entry committed before the call.</returns>
    public ValueTask RefreshAsync(CancellationToken cancellationToken = default) => _engine.RefreshAsync(cancellationToken);

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

    /// <summary>Waits for queued appends, signs a final checkpoint (when there are signers) and closes the connections.</summary>
    /// <returns>A task that completes when the store is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        await _engine.DisposeAsync().ConfigureAwait(false);
        if (_ownedDatabase is not null)
        {
            await _ownedDatabase.DisposeAsync().ConfigureAwait(false);
        }
    }
}
