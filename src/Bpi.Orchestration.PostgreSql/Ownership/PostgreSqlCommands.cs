using System.Collections.Concurrent;
using System.Text.Json;
using Bpi.Orchestration.Ownership;
using Npgsql;
using NpgsqlTypes;

namespace Bpi.Orchestration.PostgreSql;

/// <summary>
/// Commands on a deployment received by an instance that does not own it, written as rows of the <c>commands</c> table
/// that the owner picks up. The sender inserts the row (once per idempotency key), <c>NOTIFY</c>s
/// <c>command:&lt;deployment&gt;</c> and waits for the outcome (woken by <c>done:&lt;command&gt;</c>, or polling) until
/// <see cref="PostgreSqlStateOptions.CommandTimeout"/>. The owner claims pending rows of the deployments it holds with its
/// lease's fencing token (a row is claimed once per token: an owner never runs a command twice; a new owner runs again
/// only what a dead owner claimed but never reported), runs each as the sender's actor and writes the outcome.
/// </summary>
internal sealed class PostgreSqlCommands(PostgreSqlDatabase database, string owner, TimeProvider time)
{
    private const string Succeeded = "ok";
    private readonly ConcurrentDictionary<long, TaskCompletionSource> _waiters = new();
    private readonly string _table = database.Schema + ".commands";

    /// <summary>A pending command claimed by this instance.</summary>
    public readonly record struct Claimed(long Id, DeploymentCommand Command);

    /// <summary>Writes the command for the owner and waits for its outcome (the owner's error is thrown as it was raised there).</summary>
    public async ValueTask SendAsync(DeploymentCommand command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var id = await InsertAsync(command, cancellationToken).ConfigureAwait(false);
        var waiter = _waiters.GetOrAdd(id, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        var deadline = time.GetUtcNow() + database.Options.CommandTimeout;
        try
        {
            while (true)
            {
                if (await ReadOutcomeAsync(id, cancellationToken).ConfigureAwait(false) is { } outcome)
                {
                    if (outcome.Outcome == Succeeded)
                    {
                        return;
                    }

                    var kind = Enum.TryParse<OrchestrationErrorKind>(outcome.Outcome, out var parsed) ? parsed : OrchestrationErrorKind.Unknown;
                    throw new OrchestrationException(kind, outcome.Message ?? $"The owner of deployment '{command.DeploymentId}' could not {command.Verb} it.");
                }

                var remaining = deadline - time.GetUtcNow();
                if (remaining <= TimeSpan.Zero)
                {
                    throw new OrchestrationException(
                        OrchestrationErrorKind.Timeout,
                        $"No orchestrator instance ran the {command.Verb} command on deployment '{command.DeploymentId}' within {database.Options.CommandTimeout} (its owner may be down, and no instance has taken the deployment over yet). The command stays queued: the instance that owns the deployment next runs it; sending it again with the same idempotency key does not run it twice.");
                }

                // Woken by the outcome's notification; polled as well, since notifications are lost while disconnected.
                var poll = remaining < database.Options.PollInterval ? remaining : database.Options.PollInterval;
                using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                await Task.WhenAny(waiter.Task, Task.Delay(poll, time, waiting.Token)).ConfigureAwait(false);
                await waiting.CancelAsync().ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            _waiters.TryRemove(id, out _);
        }
    }

    /// <summary>An outcome notification (<c>done:&lt;id&gt;</c>) arrived: wakes whoever waits for it.</summary>
    public void Signal(string payload)
    {
        if (long.TryParse(payload.AsSpan("done:".Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
            && _waiters.TryGetValue(id, out var waiter))
        {
            waiter.TrySetResult();
        }
    }

    /// <summary>
    /// Claims the pending commands of the deployments this instance holds a live lease on (of one deployment, or all),
    /// with the lease's token: each row once per owner.
    /// </summary>
    public async Task<IReadOnlyList<Claimed>> ClaimAsync(string? deploymentId, CancellationToken cancellationToken)
    {
        var claimed = new List<Claimed>();
        try
        {
            var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var command = new NpgsqlCommand(
                    $"UPDATE {_table} c SET claimed_by = $1, claimed_token = l.fencing_token FROM {database.Schema}.leases l " +
                    "WHERE l.deployment_id = c.deployment_id AND l.owner = $1 AND l.expires_at > $2 AND c.done_at IS NULL AND c.claimed_token < l.fencing_token " +
                    "AND ($3::text IS NULL OR c.deployment_id = $3) RETURNING c.id, c.deployment_id, c.idempotency_key, c.verb, c.body::text",
                    connection);
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = owner });
                command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() });
                command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = deploymentId, NpgsqlDbType = NpgsqlDbType.Text });
                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        claimed.Add(new Claimed(reader.GetInt64(0), Decode(reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4))));
                    }
                }
            }
        }
        catch (NpgsqlException ex)
        {
            throw database.Unavailable("pick up the commands sent to this instance", ex);
        }

        claimed.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        return claimed;
    }

    /// <summary>Writes a command's outcome (once) and wakes its sender.</summary>
    public async Task CompleteAsync(long id, OrchestrationException? error, CancellationToken cancellationToken)
    {
        try
        {
            var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var command = new NpgsqlCommand(
                    $"WITH done AS (UPDATE {_table} SET done_at = $2, outcome = $3, message = $4 WHERE id = $1 AND done_at IS NULL RETURNING id) " +
                    $"SELECT pg_notify('{database.Channel}', 'done:' || id) FROM done",
                    connection);
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
                command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() });
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = error is null ? Succeeded : error.Kind.ToString() });
                command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = error?.Message, NpgsqlDbType = NpgsqlDbType.Text });
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (NpgsqlException ex)
        {
            throw database.Unavailable($"store the outcome of command {id}", ex);
        }
    }

    /// <summary>Deletes the commands older than <see cref="PostgreSqlStateOptions.CommandRetention"/>.</summary>
    public async Task PurgeAsync(CancellationToken cancellationToken)
    {
        var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = new NpgsqlCommand($"DELETE FROM {_table} WHERE created_at < $1", connection);
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() - database.Options.CommandRetention });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Inserts the command (or finds the one already sent with its idempotency key) and notifies the owner.</summary>
    private async Task<long> InsertAsync(DeploymentCommand command, CancellationToken cancellationToken)
    {
        try
        {
            var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using (var insert = new NpgsqlCommand(
                    $"WITH sent AS (INSERT INTO {_table} (deployment_id, idempotency_key, verb, body, sent_by, created_at) " +
                    $"SELECT $1, $2, $3, $4::jsonb, $5, $6 WHERE EXISTS (SELECT 1 FROM {database.Schema}.deployments WHERE id = $1) " +
                    "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, deployment_id) " +
                    $"SELECT id, pg_notify('{database.Channel}', 'command:' || deployment_id) FROM sent",
                    connection))
                {
                    insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = command.DeploymentId });
                    insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = command.IdempotencyKey });
                    insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = command.Verb });
                    insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Encode(command) });
                    insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = owner });
                    insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() });
                    if (await insert.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long inserted)
                    {
                        return inserted;
                    }
                }

                // Sent before with this key (a retry): wait for that command's outcome instead of running it again.
                using var existing = new NpgsqlCommand($"SELECT id, deployment_id FROM {_table} WHERE idempotency_key = $1", connection);
                existing.Parameters.Add(new NpgsqlParameter<string> { TypedValue = command.IdempotencyKey });
                var reader = await existing.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        throw new OrchestrationException(OrchestrationErrorKind.NotFound, $"Deployment '{command.DeploymentId}' does not exist.");
                    }

                    if (!string.Equals(reader.GetString(1), command.DeploymentId, StringComparison.Ordinal))
                    {
                        throw new OrchestrationException(OrchestrationErrorKind.Conflict, $"The idempotency key '{command.IdempotencyKey}' was used for a command on another deployment ('{reader.GetString(1)}').");
                    }

                    return reader.GetInt64(0);
                }
            }
        }
        catch (NpgsqlException ex)
        {
            throw database.Unavailable($"send the {command.Verb} command on deployment '{command.DeploymentId}' to its owner", ex);
        }
    }

    private async Task<(string Outcome, string? Message)?> ReadOutcomeAsync(long id, CancellationToken cancellationToken)
    {
        try
        {
            var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var command = new NpgsqlCommand($"SELECT outcome, message FROM {_table} WHERE id = $1 AND done_at IS NOT NULL", connection);
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                        ? (reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1))
                        : null;
                }
            }
        }
        catch (NpgsqlException ex)
        {
            throw database.Unavailable($"read the outcome of command {id}", ex);
        }
    }

    /// <summary>The row's body: the arguments and the actor (id, roles, attributes), written without reflection.</summary>
    internal static string Encode(DeploymentCommand command)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("arguments");
            foreach (var (name, value) in command.Arguments)
            {
                json.WriteString(name, value);
            }

            json.WriteEndObject();
            json.WriteStartObject("actor");
            json.WriteString("id", command.Actor.Id);
            json.WriteStartArray("roles");
            foreach (var role in command.Actor.Roles)
            {
                json.WriteStringValue(role);
            }

            json.WriteEndArray();
            json.WriteStartObject("attributes");
            foreach (var (name, value) in command.Actor.Attributes)
            {
                json.WriteString(name, value);
            }

            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    internal static DeploymentCommand Decode(string deploymentId, string key, string verb, string body)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var arguments = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var property in root.GetProperty("arguments").EnumerateObject())
        {
            arguments[property.Name] = property.Value.ValueKind == JsonValueKind.Null ? null : property.Value.GetString();
        }

        var actor = root.GetProperty("actor");
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in actor.GetProperty("attributes").EnumerateObject())
        {
            attributes[property.Name] = property.Value.GetString() ?? "";
        }

        return new DeploymentCommand
        {
            DeploymentId = deploymentId,
            IdempotencyKey = key,
            Verb = verb,
            Arguments = arguments,
            Actor = new OrchestrationActor
            {
                Id = actor.GetProperty("id").GetString() ?? "",
                Roles = [.. actor.GetProperty("roles").EnumerateArray().Select(r => r.GetString() ?? "")],
                Attributes = attributes,
            },
        };
    }
}
