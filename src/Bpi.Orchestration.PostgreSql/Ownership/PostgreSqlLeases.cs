using System.Collections.Concurrent;
using Bpi.Orchestration.Ownership;
using Npgsql;

namespace Bpi.Orchestration.PostgreSql;

/// <summary>
/// Leases on deployments with fencing tokens, and the <see cref="IDeploymentOwnership"/> they give this instance. A
/// lease row holds the owner, its expiry (by the instance's <see cref="TimeProvider"/>) and a fencing token that grows
/// by one with every new owner. Taking a lease raises the deployment row's fencing token in the same transaction, so
/// from that moment every write of the previous owner (which carries its older token) is refused by the store's
/// statement. An instance acts on a deployment only while its lease is at least <see cref="PostgreSqlStateOptions.LeaseSafetyMargin"/>
/// from expiry, so one that cannot renew stops acting before another may take over.
/// </summary>
internal sealed class PostgreSqlLeases(PostgreSqlDatabase database, string owner, TimeProvider time) : IDeploymentOwnership
{
    private readonly ConcurrentDictionary<string, Lease> _held = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Confirmation> _confirmed = new(StringComparer.Ordinal);
    private readonly string _table = database.Schema + ".leases";
    private readonly string _deployments = database.Schema + ".deployments";

    /// <summary>The channel other instances LISTEN on (a lease released, a deployment created).</summary>
    public string Channel => database.Channel;

    /// <summary>The leases this instance holds (or held and lost, with an expiry in the past), with their expiry.</summary>
    public IReadOnlyList<(string DeploymentId, DateTimeOffset ExpiresAt)> Held => [.. _held.Select(p => (p.Key, p.Value.ExpiresAt))];

    /// <summary>How many deployments this instance acts on now.</summary>
    public int ActiveCount => _held.Keys.Count(ShouldAct);

    public string Owner => owner;

    public bool ShouldAct(string deploymentId)
        => _held.TryGetValue(deploymentId, out var lease) && time.GetUtcNow() < lease.ExpiresAt - database.Options.LeaseSafetyMargin;

    /// <summary>The token of the lease this instance holds or last held (its writes then fail fenced instead of unfenced).</summary>
    public long GetFencingToken(string deploymentId) => _held.TryGetValue(deploymentId, out var lease) ? lease.FencingToken : 0;

    /// <summary>
    /// Whether this instance still owns the deployment with the token it holds: no when its lease is within the safety
    /// margin of expiry (by this instance's clock, which has moved on when the process was paused); otherwise one
    /// statement checks the lease row (owner, token, expiry), its answer cached for
    /// <see cref="PostgreSqlStateOptions.OwnershipConfirmationCache"/> but never past the point this instance stops acting.
    /// A database that cannot be reached leaves the answer to the lease this instance holds: nobody may take it before it
    /// expires, and this instance stops acting a safety margin earlier.
    /// </summary>
    public async ValueTask<bool> ConfirmAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        if (!_held.TryGetValue(deploymentId, out var lease))
        {
            return false;
        }

        var now = time.GetUtcNow();
        var actUntil = lease.ExpiresAt - database.Options.LeaseSafetyMargin;
        if (now >= actUntil)
        {
            return false;
        }

        if (_confirmed.TryGetValue(deploymentId, out var confirmed) && confirmed.FencingToken == lease.FencingToken && now < confirmed.Until)
        {
            return true;
        }

        bool owned;
        try
        {
            var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var command = new NpgsqlCommand($"SELECT 1 FROM {_table} WHERE deployment_id = $1 AND owner = $2 AND fencing_token = $3 AND expires_at > $4", connection);
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = deploymentId });
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = owner });
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = lease.FencingToken });
                command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
                owned = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OrchestrationException)
        {
            return time.GetUtcNow() < actUntil;
        }

        if (!owned)
        {
            // Taken over: keep the token so a late write fails fenced, but never act again.
            _confirmed.TryRemove(deploymentId, out _);
            _held.TryUpdate(deploymentId, lease with { ExpiresAt = DateTimeOffset.MinValue + database.Options.LeaseDuration }, lease);
            return false;
        }

        var until = now + database.Options.OwnershipConfirmationCache;
        _confirmed[deploymentId] = new Confirmation(lease.FencingToken, until < actUntil ? until : actUntil);
        return true;
    }

    public async ValueTask ClaimNewAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        if (!await TryAcquireAsync(deploymentId, cancellationToken).ConfigureAwait(false))
        {
            throw new OrchestrationException(OrchestrationErrorKind.Conflict, $"The new deployment '{deploymentId}' is already leased by another orchestrator instance; deploy again (a new id is drawn).");
        }
    }

    /// <summary>Takes the deployment's lease when nobody holds it or the holder's lease expired; renews it when this instance holds it.</summary>
    /// <returns>Whether this instance holds the lease now.</returns>
    public async Task<bool> TryAcquireAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        if (_held.ContainsKey(deploymentId) && await RenewAsync(deploymentId, cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        var now = time.GetUtcNow();
        var expires = now + database.Options.LeaseDuration;
        try
        {
            var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    long token;
                    using (var take = new NpgsqlCommand(
                        $"INSERT INTO {_table} AS l (deployment_id, owner, expires_at, fencing_token) VALUES ($1, $2, $3, 1) " +
                        $"ON CONFLICT (deployment_id) DO UPDATE SET owner = $2, expires_at = $3, fencing_token = l.fencing_token + 1 " +
                        $"WHERE l.owner IS NULL OR l.expires_at < $4 RETURNING fencing_token",
                        connection,
                        transaction))
                    {
                        take.Parameters.Add(new NpgsqlParameter<string> { TypedValue = deploymentId });
                        take.Parameters.Add(new NpgsqlParameter<string> { TypedValue = owner });
                        take.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = expires });
                        take.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
                        if (await take.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long taken)
                        {
                            return false;
                        }

                        token = taken;
                    }

                    // Fence the previous owner out of the record at once, in the same transaction as the takeover.
                    using (var fence = new NpgsqlCommand($"UPDATE {_deployments} SET fencing_token = $2 WHERE id = $1 AND fencing_token < $2", connection, transaction))
                    {
                        fence.Parameters.Add(new NpgsqlParameter<string> { TypedValue = deploymentId });
                        fence.Parameters.Add(new NpgsqlParameter<long> { TypedValue = token });
                        await fence.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }

                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    _held[deploymentId] = new Lease(token, expires);
                    return true;
                }
            }
        }
        catch (NpgsqlException ex)
        {
            throw database.Unavailable($"take the lease of deployment '{deploymentId}'", ex);
        }
    }

    /// <summary>Extends this instance's lease; <see langword="false"/> (and the lease forgotten) when another instance took it.</summary>
    public async Task<bool> RenewAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        if (!_held.TryGetValue(deploymentId, out var lease))
        {
            return false;
        }

        var expires = time.GetUtcNow() + database.Options.LeaseDuration;
        var renewed = await ExecuteAsync(
            $"UPDATE {_table} SET expires_at = $3 WHERE deployment_id = $1 AND owner = $2 AND fencing_token = $4",
            deploymentId, expires, lease.FencingToken, cancellationToken).ConfigureAwait(false);
        if (renewed)
        {
            _held[deploymentId] = lease with { ExpiresAt = expires };
        }
        else
        {
            // Lost: keep the token so a late write fails fenced, but never act again.
            _held[deploymentId] = lease with { ExpiresAt = DateTimeOffset.MinValue + database.Options.LeaseDuration };
        }

        return renewed;
    }

    /// <summary>Gives the lease up (clean shutdown) and wakes the other instances, which may take it at once.</summary>
    public async Task ReleaseAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        if (_held.TryRemove(deploymentId, out var lease))
        {
            await ExecuteAsync(
                $"WITH released AS (UPDATE {_table} SET owner = NULL, expires_at = $3 WHERE deployment_id = $1 AND owner = $2 AND fencing_token = $4 RETURNING deployment_id) " +
                $"SELECT pg_notify('{Channel}', 'released:' || deployment_id) FROM released",
                deploymentId, time.GetUtcNow(), lease.FencingToken, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<bool> ExecuteAsync(string sql, string deploymentId, DateTimeOffset at, long token, CancellationToken cancellationToken)
    {
        try
        {
            var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var command = new NpgsqlCommand(sql, connection);
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = deploymentId });
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = owner });
                command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = at });
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = token });
                return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
            }
        }
        catch (NpgsqlException ex)
        {
            throw database.Unavailable($"renew or release the lease of deployment '{deploymentId}'", ex);
        }
    }

    private readonly record struct Lease(long FencingToken, DateTimeOffset ExpiresAt);

    private readonly record struct Confirmation(long FencingToken, DateTimeOffset Until);
}
