using Npgsql;

namespace Bpi.Orchestration.PostgreSql;

/// <summary>
/// Creates and migrates the tables, versioned and idempotent: every instance runs <see cref="EnsureAsync"/> at start;
/// a transaction-scoped advisory lock makes concurrent starts wait for one another, and each migration runs once
/// (recorded in <c>schema_version</c>). A database migrated by a newer package is refused rather than misread.
/// </summary>
internal static class PostgreSqlSchema
{
    /// <summary>The advisory lock key of migrations (any constant; "bpi" + 1).</summary>
    private const long MigrationLockKey = 0x62706901;

    /// <summary>The migrations, in order; a migration is never edited once released, only new ones appended.</summary>
    private static readonly string[] Migrations =
    [
        // 1: deployment records, leases, the audit chain.
        """
        CREATE TABLE {0}.deployments (
            id text PRIMARY KEY,
            version bigint NOT NULL CHECK (version > 0),
            fencing_token bigint NOT NULL DEFAULT 0,
            state text NOT NULL,
            body jsonb NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE TABLE {0}.leases (
            deployment_id text PRIMARY KEY,
            owner text NULL,
            expires_at timestamptz NOT NULL,
            fencing_token bigint NOT NULL
        );
        CREATE TABLE {0}.audit_head (
            log text PRIMARY KEY,
            size bigint NOT NULL,
            last_hash bytea NOT NULL
        );
        CREATE TABLE {0}.audit_entries (
            log text NOT NULL,
            sequence bigint NOT NULL,
            frame bytea NOT NULL,
            PRIMARY KEY (log, sequence)
        );
        CREATE TABLE {0}.audit_checkpoints (
            log text NOT NULL,
            tree_size bigint NOT NULL,
            note text NOT NULL,
            PRIMARY KEY (log, tree_size)
        );
        """,

        // 2: the instances that share the work (a heartbeat, so each takes its fair share of the deployments).
        """
        CREATE TABLE {0}.instances (
            owner text PRIMARY KEY,
            expires_at timestamptz NOT NULL
        );
        """,

        // 3: commands an instance received for a deployment another instance owns, picked up and run by the owner.
        """
        CREATE TABLE {0}.commands (
            id bigserial PRIMARY KEY,
            deployment_id text NOT NULL,
            idempotency_key text NOT NULL UNIQUE,
            verb text NOT NULL,
            body jsonb NOT NULL,
            sent_by text NOT NULL,
            created_at timestamptz NOT NULL,
            claimed_by text NULL,
            claimed_token bigint NOT NULL DEFAULT 0,
            done_at timestamptz NULL,
            outcome text NULL,
            message text NULL
        );
        CREATE INDEX commands_pending ON {0}.commands (deployment_id, id) WHERE done_at IS NULL;
        CREATE INDEX commands_created ON {0}.commands (created_at);
        """,
    ];

    /// <summary>The schema version this package writes and reads.</summary>
    public static int CurrentVersion => Migrations.Length;

    public static async Task EnsureAsync(NpgsqlDataSource dataSource, string schema, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                await ExecuteAsync(connection, $"SELECT pg_advisory_xact_lock({MigrationLockKey})", cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, $"CREATE SCHEMA IF NOT EXISTS {schema}; CREATE TABLE IF NOT EXISTS {schema}.schema_version (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", cancellationToken).ConfigureAwait(false);
                int applied;
                using (var command = new NpgsqlCommand($"SELECT coalesce(max(version), 0) FROM {schema}.schema_version", connection))
                {
                    applied = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
                }

                if (applied > Migrations.Length)
                {
                    throw new OrchestrationException(
                        OrchestrationErrorKind.InvalidConfiguration,
                        $"The database schema '{schema}' is at version {applied}, newer than this package understands ({Migrations.Length}); upgrade Bpi.Orchestration.PostgreSql on this instance.");
                }

                for (var version = applied + 1; version <= Migrations.Length; version++)
                {
                    await ExecuteAsync(connection, string.Format(System.Globalization.CultureInfo.InvariantCulture, Migrations[version - 1], schema), cancellationToken).ConfigureAwait(false);
                    await ExecuteAsync(connection, $"INSERT INTO {schema}.schema_version (version) VALUES ({version})", cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
