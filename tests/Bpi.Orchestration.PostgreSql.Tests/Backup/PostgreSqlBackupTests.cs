using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Bpi.Orchestration.Audit;
using Bpi.Orchestration.Backup;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Bpi.Orchestration.PostgreSql.Tests.Backup;

/// <summary>
/// Backup and restore of an orchestrator whose state is on PostgreSQL (<c>AddPostgreSqlState</c> + <c>AddBackup</c>):
/// the deployments and the shared audit chain (the <c>postgresql-audit</c> part) restore into a fresh database where the
/// audit verification passes and the deployments match; an audit entry changed in the backup is refused by the audit
/// verifier before anything is written. Real PostgreSQL (required under BPI_REQUIRE_POSTGRES).
/// </summary>
public sealed class PostgreSqlBackupTests : IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
{
    private readonly PostgresDatabaseFixture _fixture;
    private readonly InMemoryWorkloadRuntime _runtime = new();
    private readonly CheckpointSigner _signer = CheckpointSigner.Generate("tests.example/pg-backup");
    private readonly List<ServiceProvider> _providers = [];
    private readonly List<PostgresTestDatabase> _databases = [];

    public PostgreSqlBackupTests(PostgresDatabaseFixture fixture) => _fixture = fixture;

    [SkippableFact]
    public async Task A_backup_of_deployments_and_the_audit_chain_restores_into_a_fresh_database_where_audit_verify_passes()
    {
        var (source, sourceLog, file) = await BackUpAsync("roundtrip");
        var target = await FreshDatabaseAsync();

        var host = Host(target, o => o.Verifiers.Add(new CheckpointVerifier([_signer.VerifierKey])));
        var report = await host.GetRequiredService<IOrchestrationBackup>().RestoreAsync(file);

        Assert.Equal(["deployments", "postgresql-audit"], report.Manifest.Parts.Select(p => p.Name));
        Assert.Equal($"ecdsa-p256-sha256 key '{_signer.KeyName}'", report.SignedBy);
        Assert.Equal(await DeploymentsAsync(source), await DeploymentsAsync(host));
        // The same check `audit verify` runs, on the store the restored host opens: the same chain, signatures checked.
        var restored = await AuditVerifier.VerifyAsync(host.GetRequiredService<IAuditStore>(), new CheckpointVerifier([_signer.VerifierKey]));
        Assert.True(restored.IsValid, restored.Message);
        Assert.True(restored.SignaturesChecked);
        Assert.Equal((sourceLog.TreeSize, sourceLog.RootHash), (restored.EntriesVerified, restored.RootHash));
        Assert.True(restored.CheckpointsVerified > 0, restored.Message);

        // A second restore finds the audit chain there and refuses.
        file.Position = 0;
        var again = await Assert.ThrowsAsync<OrchestrationBackupException>(() => Host(target, o => o.Verifiers.Add(new CheckpointVerifier([_signer.VerifierKey]))).GetRequiredService<IOrchestrationBackup>().RestoreAsync(file));
        Assert.Equal(BackupRefusal.NotEmpty, again.Refusal);
        Assert.Contains(again.Errors, e => e.Contains("'postgresql-audit' store already holds data", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task A_changed_audit_entry_in_the_backup_is_refused_by_the_audit_verifier_and_nothing_is_written()
    {
        var (_, _, file) = await BackUpAsync("tampered");
        // An attacker without the key: changes the last entry, recomputes the part's hash and drops the signature.
        var tampered = ZipEntries.Copy(file);
        var part = ZipEntries.Read(tampered, "parts/postgresql-audit");
        part[^8] ^= 0x20;
        ZipEntries.Write(tampered, "parts/postgresql-audit", part);
        var manifest = JsonNode.Parse(ZipEntries.Read(tampered, "manifest.json"))!;
        var listed = manifest["parts"]!.AsArray().Single(p => (string?)p!["name"] == "postgresql-audit")!;
        listed["sha256"] = Convert.ToHexStringLower(SHA256.HashData(part));
        ZipEntries.Write(tampered, "manifest.json", System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString()));
        ZipEntries.Write(tampered, "manifest.sig", null);
        var target = await FreshDatabaseAsync();

        var host = Host(target, o =>
        {
            o.Verifiers.Add(new CheckpointVerifier([_signer.VerifierKey]));
            o.AllowUnsigned = true;
        });
        var refused = await Assert.ThrowsAsync<OrchestrationBackupException>(() => host.GetRequiredService<IOrchestrationBackup>().RestoreAsync(tampered));

        Assert.Equal(BackupRefusal.Damaged, refused.Refusal);
        Assert.Contains(refused.Errors, e => e.StartsWith("postgresql-audit: the audit log does not verify", StringComparison.Ordinal));
        // Refused before the first statement: not even the schema was created in the fresh database.
        Assert.Equal(0L, await ScalarAsync(target, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'bpi_orchestration'"));

        // The untouched backup restores into the same database.
        file.Position = 0;
        await host.GetRequiredService<IOrchestrationBackup>().RestoreAsync(file);
        Assert.True(await ScalarAsync(target, "SELECT count(*) FROM bpi_orchestration.audit_entries") > 0);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }

        _runtime.Dispose();
        _signer.Dispose();
    }

    /// <summary>Deploys and updates a service on the source database, signs a checkpoint of the audit chain, and backs up.</summary>
    private async Task<(ServiceProvider Source, SignedCheckpoint Log, MemoryStream File)> BackUpAsync(string label)
    {
        var source = Host(await _fixture.GetConnectionStringAsync("backup"), o => o.Signer = _signer, schema: "src_" + label);
        var vm = source.GetRequiredService<IOrchestrationVm>();
        await vm.StartAsync(Timeout());
        var id = await vm.DeployAsync(Records.Spec("web:1") with { Name = "web-" + label });
        await vm.WaitUntilSettledAsync(id, Timeout());
        await vm.UpdateAsync(id, Records.Spec("web:2") with { Name = "web-" + label });
        await vm.WaitUntilSettledAsync(id, Timeout());
        await vm.StopAsync(Timeout());

        var checkpoint = await source.GetRequiredService<IAuditStore>().CreateCheckpointAsync();
        Assert.NotNull(checkpoint);
        var file = new MemoryStream();
        await source.GetRequiredService<IOrchestrationBackup>().BackupAsync(file);
        file.Position = 0;
        return (source, checkpoint, file);
    }

    private ServiceProvider Host(string connectionString, Action<OrchestrationBackupOptions> backup, string schema = "bpi_orchestration")
    {
        var services = new ServiceCollection();
        services.AddSingleton(_runtime);
        services.AddOrchestration(o =>
            {
                o.VmId = "backup";
                o.RemoveOrphansOnStart = false;
            })
            .AddStrategies()
            .AddInMemoryRuntime()
            .AddPostgreSqlState(connectionString, o => o.Schema = schema, audit =>
            {
                audit.Origin = "tests.example/pg-backup";
                audit.CheckpointSigners.Add(_signer);
            })
            .AddBackup(backup);
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        return provider;
    }

    private async Task<string> FreshDatabaseAsync()
    {
        var database = await PostgresTestEnvironment.CreateDatabaseAsync("backuptarget");
        _databases.Add(database);
        return database.ConnectionString;
    }

    private static async Task<List<string>> DeploymentsAsync(IServiceProvider host) =>
        [.. (await host.GetRequiredService<IDeploymentStore>().ListAsync()).OrderBy(r => r.Id, StringComparer.Ordinal).Select(r => $"{r.Id} {r.State} stable={r.StableRevision} revisions={r.Revisions.Count} by={r.CreatedBy}")];

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;
}
