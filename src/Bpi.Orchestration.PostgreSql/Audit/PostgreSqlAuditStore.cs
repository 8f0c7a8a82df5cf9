using Bpi.Orchestration.Audit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

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
/// RFC 9162 Merkle proofs, signed checkpoints, verification and export as <see cref="FileAuditStore"/> — it is an
/// <see cref="AuditLogStore"/> on a PostgreSQL <see cref="AuditStorage"/>. Appends are group-committed: every entry
/// queued while a transaction runs goes into the next one. <see cref="AuditLogStore.Count"/> and proofs cover this
/// instance's appends and everything before them; <see cref="AuditLogStore.RefreshAsync"/> takes in what other
/// instances appended since.
/// </summary>
public sealed class PostgreSqlAuditStore : AuditLogStore
{
    private readonly PostgreSqlDatabase? _ownedDatabase;

    private PostgreSqlAuditStore(PostgreSqlDatabase? ownedDatabase)
    {
        _ownedDatabase = ownedDatabase;
    }

    /// <summary>
    /// Opens the log (creating the schema and the log when missing), reads and checks every stored entry (CRC, sequence,
    /// hash chain) to rebuild the Merkle tree, and checks every stored checkpoint against it.
    /// </summary>
    /// <param name="options">The options; every problem is listed when they are invalid.</param>
    /// <param name="timeProvider">The clock for timestamps and the checkpoint timer; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="loggerFactory">Where to log; nowhere when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>The open store.</returns>
    /// <exception cref="OptionsValidationException">The options are invalid (every problem is listed).</exception>
    /// <exception cref="AuditStoreException">The stored log does not verify.</exception>
    public static async ValueTask<PostgreSqlAuditStore> OpenAsync(
        PostgreSqlAuditStoreOptions options,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>(options.Validate());
        var state = new PostgreSqlStateOptions { ConnectionString = options.ConnectionString, Schema = options.Schema };
        // The connection and schema are checked as the state's are, but reported under the options the caller gave.
        errors.AddRange(state.Validate().Select(e => e.Replace(nameof(PostgreSqlStateOptions) + ".", nameof(PostgreSqlAuditStoreOptions) + ".", StringComparison.Ordinal)));
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(PostgreSqlAuditStoreOptions), errors);
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
        try
        {
            await storage.InitializeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await storage.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        // The store owns the storage from here: OpenStorageAsync disposes it when opening fails.
        var store = new PostgreSqlAuditStore(ownsDatabase ? database : null);
        await store.OpenStorageAsync(storage, options, timeProvider, logger, cancellationToken).ConfigureAwait(false);
        return store;
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        await base.DisposeAsyncCore().ConfigureAwait(false);
        if (_ownedDatabase is not null)
        {
            await _ownedDatabase.DisposeAsync().ConfigureAwait(false);
        }
    }
}
