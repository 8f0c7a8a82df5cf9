using System.Globalization;
using Bpi.Orchestration.Runtime;
using Npgsql;

namespace Bpi.Orchestration.PostgreSql.CrashHost;

/// <summary>
/// A workload runtime every crash-host process shares, kept in two tables of the test's database: <c>replicas</c> (how many
/// instances of each component revision exist; they are all Running) and <c>calls</c> (every EnsureReplicas call, with
/// the process that made it), so the test counts the runtime calls of each step across a take-over. A call takes
/// <c>stepDelay</c> and is not cancellable once started (like a real engine call in flight), so a kill lands inside one.
/// </summary>
internal sealed class SharedTableRuntime(NpgsqlDataSource dataSource, string schema, string instance, TimeSpan stepDelay, TextWriter stdout) : IWorkloadRuntime
{
    public string Name => "shared-table";

    public static async Task CreateTablesAsync(NpgsqlDataSource dataSource, string schema)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT pg_advisory_xact_lock(4242); CREATE SCHEMA IF NOT EXISTS {schema}; " +
            $"CREATE TABLE IF NOT EXISTS {schema}.replicas (deployment_id text, component text, revision int, replicas int NOT NULL, PRIMARY KEY (deployment_id, component, revision)); " +
            $"CREATE TABLE IF NOT EXISTS {schema}.calls (id bigserial PRIMARY KEY, instance text NOT NULL, pid int NOT NULL, deployment_id text NOT NULL, component text NOT NULL, revision int NOT NULL, replicas int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())",
            connection,
            transaction);
        await command.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
    }

    public async ValueTask EnsureReplicasAsync(WorkloadRevision revision, int replicas, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var call = new NpgsqlCommand($"INSERT INTO {schema}.calls (instance, pid, deployment_id, component, revision, replicas) VALUES ($1, $2, $3, $4, $5, $6)", connection))
        {
            call.Parameters.Add(new NpgsqlParameter<string> { TypedValue = instance });
            call.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Environment.ProcessId });
            call.Parameters.Add(new NpgsqlParameter<string> { TypedValue = revision.DeploymentId });
            call.Parameters.Add(new NpgsqlParameter<string> { TypedValue = revision.Component.Id });
            call.Parameters.Add(new NpgsqlParameter<int> { TypedValue = revision.Revision });
            call.Parameters.Add(new NpgsqlParameter<int> { TypedValue = replicas });
            await call.ExecuteNonQueryAsync(CancellationToken.None);
        }

        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"calling {revision.DeploymentId} {revision.Component.Id} r{revision.Revision} x{replicas}"));
        stdout.Flush();

        // The engine works on it; once sent, the call is not taken back.
        await Task.Delay(stepDelay, CancellationToken.None);
        await using var apply = new NpgsqlCommand(
            $"INSERT INTO {schema}.replicas (deployment_id, component, revision, replicas) VALUES ($1, $2, $3, $4) ON CONFLICT (deployment_id, component, revision) DO UPDATE SET replicas = $4",
            connection);
        apply.Parameters.Add(new NpgsqlParameter<string> { TypedValue = revision.DeploymentId });
        apply.Parameters.Add(new NpgsqlParameter<string> { TypedValue = revision.Component.Id });
        apply.Parameters.Add(new NpgsqlParameter<int> { TypedValue = revision.Revision });
        apply.Parameters.Add(new NpgsqlParameter<int> { TypedValue = replicas });
        await apply.ExecuteNonQueryAsync(CancellationToken.None);
    }

    public async ValueTask<IReadOnlyList<WorkloadInstance>> GetInstancesAsync(string deploymentId, string? componentId = null, int? revision = null, CancellationToken cancellationToken = default)
    {
        var all = await ReadAsync(deploymentId, cancellationToken);
        return [.. all.Where(i => (componentId is null || i.ComponentId == componentId) && (revision is null || i.Revision == revision))];
    }

    public async ValueTask RemoveDeploymentAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"DELETE FROM {schema}.replicas WHERE deployment_id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = deploymentId });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask<IReadOnlyList<WorkloadInstance>> ListOwnedAsync(CancellationToken cancellationToken = default) => await ReadAsync(null, cancellationToken);

    public ValueTask<IReadOnlyList<string>> GetLogTailAsync(string instanceId, int lines, CancellationToken cancellationToken = default)
        => ValueTask.FromResult<IReadOnlyList<string>>([]);

    private async Task<List<WorkloadInstance>> ReadAsync(string? deploymentId, CancellationToken cancellationToken)
    {
        var instances = new List<WorkloadInstance>();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"SELECT deployment_id, component, revision, replicas FROM {schema}.replicas WHERE $1::text IS NULL OR deployment_id = $1",
            connection);
        command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = deploymentId, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var (id, component, revision, replicas) = (reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt32(3));
            for (var i = 0; i < replicas; i++)
            {
                instances.Add(new WorkloadInstance
                {
                    InstanceId = string.Create(CultureInfo.InvariantCulture, $"{id}-{component}-r{revision}-{i}"),
                    DeploymentId = id,
                    ComponentId = component,
                    Revision = revision,
                    OwnerId = "crash",
                    State = InstanceState.Running,
                    Health = InstanceHealth.Healthy,
                    Endpoints = [new ServiceEndpoint("127.0.0.1", 10000 + i)],
                });
            }
        }

        return instances;
    }
}
