using System.Globalization;
using Bpi.Orchestration.Audit;
using Npgsql;
using Xunit.Abstractions;

namespace Bpi.Orchestration.PostgreSql.Tests.MultiInstance;

/// <summary>
/// Three orchestrator processes on one real PostgreSQL database. Each round deploys, starts a rolling update on the
/// instance that owns the deployment, kills that instance with SIGKILL at a random moment, and checks that another
/// instance takes the deployment over within lease expiry + 2 s, that the rollout ends Running or RolledBack, that no
/// step the dead owner finished runs again (runtime calls counted per step; only the step in flight at the kill may
/// repeat, steps being idempotent), that the one audit chain all instances appended to verifies, and that no process or
/// runtime instance is left behind.
/// </summary>
public sealed class MultiInstanceCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int LeaseMs = 3000;
    private PostgresTestDatabase? _database;

    static MultiInstanceCrashTests()
    {
        // The hosts' records name the rolling strategy: load its name into the registry, as the hosts' AddStrategies does.
        System.Runtime.CompilerServices.RuntimeHelpers.RunModuleConstructor(typeof(Bpi.Orchestration.Strategies.Rolling.RollingStrategySpec).Module.ModuleHandle);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    [SkippableFact]
    public Task Owner_killed_mid_rollout_is_taken_over_and_the_rollout_finishes_without_rerunning_a_finished_step()
        => RunRoundsAsync(3);

    [SkippableFact]
    [Trait("Category", "LongRunning")]
    public Task Twenty_rounds_of_killing_the_owner_mid_rollout_all_end_taken_over_and_settled()
        => RunRoundsAsync(20);

    [SkippableFact]
    public async Task Stale_owner_resumed_after_losing_its_lease_has_its_writes_refused_by_fencing()
    {
        var connectionString = await DatabaseAsync();
        const string schema = "stale";
        // A longer lease than the crash rounds': the new owner must keep the deployment while the stale one resumes.
        var hosts = StartHosts(connectionString, schema, stepDelayMs: 400, leaseMs: 2 * LeaseMs);
        try
        {
            await Task.WhenAll(hosts.Select(h => h.WaitForLineAsync("ready")));
            var id = await DeployAsync(hosts[0], connectionString, schema);
            var (owner, token, _) = await LeaseAsync(connectionString, schema, id);
            var stale = hosts.Single(h => h.Instance == owner);
            await stale.SendAsync($"update {id} crash:2");
            await stale.WaitForLineAsync("updating");

            // Paused inside a runtime call of the rollout: its step completes, and its cursor is written, only after SIGCONT.
            await stale.WaitForLineAsync("calling " + id);
            stale.Signal("STOP");
            var lastStaleCall = await MaxCallIdAsync(connectionString, schema);
            var (newOwner, newToken, _) = await Eventually.UntilAsync(
                () => LeaseAsync(connectionString, schema, id),
                l => l.Owner != owner && l.Token > token,
                "another instance took the paused owner's lease",
                TimeSpan.FromMilliseconds(LeaseMs * 10));
            stale.Signal("CONT");

            // Resumed, it finds it lost the lease and stops acting; any write it still makes carries its old token.
            await Eventually.UntilAsync(() => stale.Stderr.Contains("lost deployment " + id, StringComparison.Ordinal) || stale.HasPrinted("refused " + id), "the stale owner noticed it lost the deployment");
            await stale.SendAsync("stale-write " + id);
            var refused = await stale.WaitForLineAsync("refused " + id);
            Assert.Contains($"token={token}", refused, StringComparison.Ordinal);
            Assert.False(stale.HasPrinted("written " + id), "a write of the stale owner went through");

            var record = await Eventually.UntilAsync(
                () => RecordAsync(connectionString, schema, id),
                r => r is { State: DeploymentState.Running or DeploymentState.RolledBack, Cursor: null } && (r.StableRevision == 2 || r.State == DeploymentState.RolledBack),
                "the new owner finished the rollout");
            Assert.Equal(newToken, record!.FencingToken);
            Assert.DoesNotContain("written by " + owner, record.Message ?? "", StringComparison.Ordinal);
            output.WriteLine($"stale owner {owner} (token {token}) refused; {newOwner} (token {newToken}) finished: {record.State}");
            await VerifyAuditAsync(connectionString, schema);
            foreach (var host in hosts)
            {
                Assert.Equal(0, await host.ExitAsync());
            }

            // Stopped cleanly (every run ended): the call in flight at SIGSTOP completed, and after it the stale owner
            // confirmed its ownership before acting on the runtime, found it lost, and made no call of its own.
            var staleCalls = (await CallsAsync(connectionString, schema, id, lastStaleCall)).Where(c => c.Instance == owner).ToList();
            Assert.True(staleCalls.Count == 0, $"the stale owner called the runtime after it resumed: {string.Join(", ", staleCalls.Select(c => c.Step))}");
            var byNewOwner = (await CallsAsync(connectionString, schema, id, lastStaleCall)).Where(c => c.Instance == newOwner).ToList();
            Assert.NotEmpty(byNewOwner);
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }
        }
    }

    private async Task RunRoundsAsync(int rounds)
    {
        var connectionString = await DatabaseAsync();
        var takeovers = new List<double>();
        var finishedBeforeKill = 0;
        for (var round = 0; round < rounds; round++)
        {
            var schema = "crash" + round.ToString(CultureInfo.InvariantCulture);
            var hosts = StartHosts(connectionString, schema, stepDelayMs: 150);
            try
            {
                await Task.WhenAll(hosts.Select(h => h.WaitForLineAsync("ready")));
                var id = await DeployAsync(hosts[Random.Shared.Next(hosts.Length)], connectionString, schema);
                var (owner, token, _) = await LeaseAsync(connectionString, schema, id);
                var victim = hosts.Single(h => h.Instance == owner);
                var firstUpdateCall = await MaxCallIdAsync(connectionString, schema);
                await victim.SendAsync($"update {id} crash:2");
                await victim.WaitForLineAsync("updating");
                await Task.Delay(Random.Shared.Next(0, 1600)); // the kill moment; not a wait for a condition
                await victim.KillAsync();
                var killedAt = DateTimeOffset.UtcNow;
                var before = await RecordAsync(connectionString, schema, id);
                finishedBeforeKill += before is { State: DeploymentState.Running, StableRevision: 2 } ? 1 : 0;
                var (_, _, expiresAt) = await LeaseAsync(connectionString, schema, id);

                var taken = await Eventually.UntilAsync(
                    () => LeaseAsync(connectionString, schema, id),
                    l => l.Owner is not null && l.Owner != owner && l.Token > token,
                    $"round {round}: another instance took over from {owner}",
                    TimeSpan.FromMilliseconds(LeaseMs + 10_000));
                var takenAt = DateTimeOffset.UtcNow;
                var afterExpiry = (takenAt - expiresAt!.Value).TotalSeconds;
                takeovers.Add((takenAt - killedAt).TotalSeconds);
                Assert.True(afterExpiry <= 2.0, $"round {round}: the take-over came {afterExpiry:0.00} s after the lease expired (more than 2 s)");

                var record = await Eventually.UntilAsync(
                    () => RecordAsync(connectionString, schema, id),
                    r => r is { State: DeploymentState.Running or DeploymentState.RolledBack, Cursor: null } && (r.StableRevision == 2 || r.State == DeploymentState.RolledBack),
                    $"round {round}: the rollout ended Running or RolledBack");

                var calls = await CallsAsync(connectionString, schema, id, firstUpdateCall);
                var byVictim = calls.Where(c => c.Instance == owner).Select(c => c.Step).ToList();
                var byOthers = calls.Where(c => c.Instance != owner).Select(c => c.Step).ToList();
                Assert.True(byOthers.Count == byOthers.Distinct().Count(), $"round {round}: the new owner ran a step twice: {string.Join(", ", calls.Select(c => c.Instance + ":" + c.Step))} ({record!.State})\n{string.Join("\n", hosts.Where(h => h != victim).Select(h => h.Stderr))}");
                var repeated = byOthers.Intersect(byVictim).ToList();
                Assert.True(repeated.Count <= 1, $"round {round}: steps the dead owner ran were run again: {string.Join(", ", repeated)} (only the one in flight at the kill may be)");

                var replicas = await ReplicasAsync(connectionString, schema, id);
                var serving = record!.StableRevision!.Value;
                Assert.All(replicas.Where(r => r.Revision != serving), r => Assert.Equal(0, r.Replicas));
                Assert.Equal(4, replicas.Single(r => r.Revision == serving).Replicas);

                await VerifyAuditAsync(connectionString, schema);
                foreach (var host in hosts.Where(h => h != victim))
                {
                    Assert.Equal(0, await host.ExitAsync());
                }

                Assert.All(hosts, h => Assert.True(h.HasExited));
                output.WriteLine($"round {round}: killed {owner} {(takenAt - killedAt).TotalSeconds:0.00} s before {taken.Owner} took over ({afterExpiry:0.00} s after expiry); {record.State}; repeated in-flight step: {(repeated.Count == 0 ? "none" : repeated[0])}");
            }
            finally
            {
                foreach (var host in hosts)
                {
                    await host.DisposeAsync();
                }
            }
        }

        takeovers.Sort();
        output.WriteLine($"{rounds} rounds; kill → take-over median {takeovers[takeovers.Count / 2]:0.00} s, max {takeovers[^1]:0.00} s (lease {LeaseMs} ms); rollouts already finished at the kill: {finishedBeforeKill}");
    }

    private async Task<string> DatabaseAsync()
    {
        _database ??= await PostgresTestEnvironment.CreateDatabaseAsync("leasecrash");
        return _database.ConnectionString;
    }

    private static CrashHostProcess[] StartHosts(string connectionString, string schema, int stepDelayMs, int leaseMs = LeaseMs)
        => [.. new[] { "a", "b", "c" }.Select(name => CrashHostProcess.Start(connectionString, schema, schema + "-" + name, leaseMs, stepDelayMs))];

    private static async Task<string> DeployAsync(CrashHostProcess host, string connectionString, string schema)
    {
        await host.SendAsync("deploy web");
        var id = (await host.WaitForLineAsync("deployed")).Split(' ')[1];
        await Eventually.UntilAsync(() => RecordAsync(connectionString, schema, id), r => r?.State == DeploymentState.Running, "the first revision runs");
        return id;
    }

    private static async Task<(string? Owner, long Token, DateTimeOffset? ExpiresAt)> LeaseAsync(string connectionString, string schema, string id)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT owner, fencing_token, expires_at FROM {schema}.leases WHERE deployment_id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? (reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2))
            : (null, 0, null);
    }

    private static async Task<DeploymentRecord?> RecordAsync(string connectionString, string schema, string id)
    {
        await using var database = new PostgreSqlDatabase(new PostgreSqlStateOptions { ConnectionString = connectionString, Schema = schema });
        return await new PostgreSqlDeploymentStore(database).GetAsync(id);
    }

    private static async Task<long> MaxCallIdAsync(string connectionString, string schema)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT coalesce(max(id), 0) FROM {schema}_rt.calls", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<List<(string Instance, string Step)>> CallsAsync(string connectionString, string schema, string id, long after)
    {
        var calls = new List<(string, string)>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT instance, component, revision, replicas FROM {schema}_rt.calls WHERE deployment_id = $1 AND id > $2 ORDER BY id", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            calls.Add((reader.GetString(0), string.Create(CultureInfo.InvariantCulture, $"{reader.GetString(1)} r{reader.GetInt32(2)} x{reader.GetInt32(3)}")));
        }

        return calls;
    }

    private static async Task<List<(int Revision, int Replicas)>> ReplicasAsync(string connectionString, string schema, string id)
    {
        var rows = new List<(int, int)>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT revision, replicas FROM {schema}_rt.replicas WHERE deployment_id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetInt32(0), reader.GetInt32(1)));
        }

        return rows;
    }

    private static async Task VerifyAuditAsync(string connectionString, string schema)
    {
        await using var audit = await PostgreSqlAuditStore.OpenAsync(new PostgreSqlAuditStoreOptions { ConnectionString = connectionString, Schema = schema });
        Assert.True(audit.Count > 0, "the instances appended nothing to the audit chain");
        var result = await AuditVerifier.VerifyAsync(audit);
        Assert.True(result.IsValid, $"the shared audit chain does not verify: {result.Failure}");
    }
}
