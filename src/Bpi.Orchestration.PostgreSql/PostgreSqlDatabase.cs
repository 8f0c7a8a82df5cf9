using Npgsql;

namespace Bpi.Orchestration.PostgreSql;

/// <summary>
/// The connection pool and schema every PostgreSQL part of one instance shares: the schema is created or migrated
/// once, on first use, before any table is touched.
/// </summary>
internal sealed class PostgreSqlDatabase : IAsyncDisposable
{
    private readonly SemaphoreSlim _schemaLock = new(1, 1);
    private volatile bool _schemaReady;

    public PostgreSqlDatabase(PostgreSqlStateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid();
        Options = options;
        Schema = options.Schema;
        DataSource = NpgsqlDataSource.Create(options.ConnectionString);
    }

    public PostgreSqlStateOptions Options { get; }

    public string Schema { get; }

    /// <summary>The channel the instances LISTEN on: <c>changed:&lt;id&gt;</c> (a record written), <c>released:&lt;id&gt;</c> (a lease given up).</summary>
    public string Channel => Schema + "_events";

    public NpgsqlDataSource DataSource { get; }

    /// <summary>A connection to the migrated database.</summary>
    public async ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (!_schemaReady)
        {
            await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        }

        return await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        await _schemaLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_schemaReady)
            {
                await PostgreSqlSchema.EnsureAsync(DataSource, Schema, cancellationToken).ConfigureAwait(false);
                _schemaReady = true;
            }
        }
        catch (NpgsqlException ex)
        {
            throw Unavailable("create or migrate its schema", ex);
        }
        finally
        {
            _schemaLock.Release();
        }
    }

    /// <summary>The error for a database that could not be reached or refused a statement.</summary>
    public OrchestrationException Unavailable(string what, Exception exception)
        => new(OrchestrationErrorKind.RuntimeUnavailable, $"The PostgreSQL state could not {what}: {exception.Message} Check that the database in the connection string answers and that its user may create tables in schema '{Schema}'.", exception);

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync().ConfigureAwait(false);
        _schemaLock.Dispose();
    }
}
