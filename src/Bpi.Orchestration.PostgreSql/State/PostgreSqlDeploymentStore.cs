using System.Text;
using Bpi.Orchestration.State;
using Npgsql;
using NpgsqlTypes;

namespace Bpi.Orchestration.PostgreSql;

/// <summary>
/// The shared <see cref="IDeploymentStore"/>: one row per deployment (the record as JSON, its version and the fencing
/// token it was written with). A save is one statement whose <c>WHERE</c> checks the version and the fencing token
/// (<see cref="DeploymentStoreWrites"/>), so a stale writer changes nothing; the reason is then read and reported.
/// </summary>
internal sealed class PostgreSqlDeploymentStore(PostgreSqlDatabase database) : IRestorableDeploymentStore
{
    private readonly string _table = database.Schema + ".deployments";

    public async ValueTask<long> SaveAsync(DeploymentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!DeploymentIds.IsValid(record.Id))
        {
            throw new ArgumentException($"'{record.Id}' is not a deployment id (an id is {DeploymentIds.Grammar}).", nameof(record));
        }

        var version = record.Version + 1;
        var json = Encoding.UTF8.GetString(DeploymentJson.Serialize(record with { Version = version }));
        // The write and the notification that wakes the other instances (their reads refresh) are one statement.
        var write = record.Version == 0
            ? $"INSERT INTO {_table} (id, version, fencing_token, state, body, updated_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING version"
            : $"UPDATE {_table} SET version = $2, fencing_token = $3, state = $4, body = $5, updated_at = $6 WHERE id = $1 AND version = $2 - 1 AND fencing_token <= $3 RETURNING version";
        var sql = $"WITH w AS ({write}) SELECT w.version FROM w, LATERAL (SELECT pg_notify('{database.Channel}', 'changed:' || $1)) n";
        try
        {
            var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using (var command = new NpgsqlCommand(sql, connection))
                {
                    command.Parameters.Add(new NpgsqlParameter<string>{ TypedValue = record.Id });
                    command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = version });
                    command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = record.FencingToken });
                    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = StateName(record.State) });
                    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = json, NpgsqlDbType = NpgsqlDbType.Jsonb });
                    command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = record.UpdatedAt.ToUniversalTime() });
                    if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long stored)
                    {
                        return stored;
                    }
                }

                // Nothing written: say why (the row may change again meanwhile; the rule decides on what is read now).
                var (storedVersion, storedToken) = await ReadVersionAsync(connection, record.Id, cancellationToken).ConfigureAwait(false);
                DeploymentStoreWrites.EnsureCanReplace(record, storedVersion, storedToken);
                throw DeploymentStoreWrites.VersionConflict(record.Id, record.Version, storedVersion);
            }
        }
        catch (NpgsqlException ex)
        {
            throw database.Unavailable($"save deployment '{record.Id}'", ex);
        }
    }

    /// <summary>Replaces every row in one transaction (a restore from a backup); the other instances are notified of each restored id.</summary>
    public async ValueTask ReplaceAllAsync(IReadOnlyList<DeploymentRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        try
        {
            var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    using (var delete = new NpgsqlCommand($"DELETE FROM {_table}", connection, transaction))
                    {
                        await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }

                    foreach (var record in records)
                    {
                        var version = Math.Max(1, record.Version);
                        var json = Encoding.UTF8.GetString(DeploymentJson.Serialize(record with { Version = version, FencingToken = 0 }));
                        using var insert = new NpgsqlCommand($"WITH w AS (INSERT INTO {_table} (id, version, fencing_token, state, body, updated_at) VALUES ($1, $2, 0, $3, $4, $5) RETURNING id) SELECT pg_notify('{database.Channel}', 'changed:' || w.id) FROM w", connection, transaction);
                        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = record.Id });
                        insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = version });
                        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = StateName(record.State) });
                        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = json, NpgsqlDbType = NpgsqlDbType.Jsonb });
                        insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = record.UpdatedAt.ToUniversalTime() });
                        await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }

                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (NpgsqlException ex)
        {
            throw database.Unavailable("restore the deployments", ex);
        }
    }

    public async ValueTask<DeploymentRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        if (!DeploymentIds.IsValid(id))
        {
            return null;
        }

        var records = await QueryAsync($"SELECT body::text, version, fencing_token FROM {_table} WHERE id = $1", id, cancellationToken).ConfigureAwait(false);
        return records.Count == 0 ? null : records[0];
    }

    public async ValueTask<IReadOnlyList<DeploymentRecord>> ListAsync(CancellationToken cancellationToken = default)
        => await QueryAsync($"SELECT body::text, version, fencing_token FROM {_table}", null, cancellationToken).ConfigureAwait(false);

    public async ValueTask DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        try
        {
            var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var command = new NpgsqlCommand($"DELETE FROM {_table} WHERE id = $1", connection);
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (NpgsqlException ex)
        {
            throw database.Unavailable($"delete deployment '{id}'", ex);
        }
    }

    private async Task<List<DeploymentRecord>> QueryAsync(string sql, string? id, CancellationToken cancellationToken)
    {
        var records = new List<DeploymentRecord>();
        try
        {
            var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var command = new NpgsqlCommand(sql, connection);
                if (id is not null)
                {
                    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
                }

                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        var record = DeploymentJson.Deserialize(Encoding.UTF8.GetBytes(reader.GetString(0)));
                        var version = reader.GetInt64(1);
                        var token = reader.GetInt64(2);

                        // The columns are authoritative: a new owner raises the token when it takes the lease, without rewriting the body.
                        records.Add(record.Version == version && record.FencingToken == token ? record : record with { Version = version, FencingToken = token });
                    }
                }
            }
        }
        catch (NpgsqlException ex)
        {
            throw database.Unavailable("read deployments", ex);
        }

        return records;
    }

    private async Task<(long Version, long FencingToken)> ReadVersionAsync(NpgsqlConnection connection, string id, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand($"SELECT version, fencing_token FROM {_table} WHERE id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? (reader.GetInt64(0), reader.GetInt64(1)) : (0, 0);
        }
    }

    private static string StateName(DeploymentState state) => state.ToString();
}
