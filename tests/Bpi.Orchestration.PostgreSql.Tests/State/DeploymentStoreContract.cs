using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration.PostgreSql.Tests.State;

/// <summary>
/// The one test suite every <see cref="IDeploymentStore"/> passes (in-memory, file, PostgreSQL): round trips, and the
/// write rule several instances rely on — optimistic concurrency on the version and fencing on the fencing token.
/// </summary>
public abstract class DeploymentStoreContract
{
    private static readonly Bpi.Orchestration.Backup.OrchestrationBackupOptions BackupKey = new()
    {
        Signer = new Bpi.Orchestration.Backup.HmacBackupKey("tests/backup", System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
    };

    /// <summary>A fresh, empty store; a second call returns another view of the same stored state (another "instance").</summary>
    protected abstract Task<IDeploymentStore> OpenAsync();

    [SkippableFact]
    public async Task A_new_record_is_stored_as_version_1_and_read_back_whole()
    {
        var store = await OpenAsync();
        var record = Records.New();

        var version = await store.SaveAsync(record);
        var read = await (await OpenAsync()).GetAsync(record.Id);

        Assert.Equal(1, version);
        Assert.NotNull(read);
        Assert.Equal(1, read.Version);
        Assert.Equal(record.Cursor, read.Cursor);
        Assert.Equal(DeploymentState.Deploying, read.State);
        Assert.Equal("web:1", read.Revisions[0].Spec.Components[0].Image);
        Assert.Equal(record.CreatedAt, read.CreatedAt);
    }

    [SkippableFact]
    public async Task A_save_at_the_version_read_replaces_the_record_and_gives_the_next_version()
    {
        var store = await OpenAsync();
        await store.SaveAsync(Records.New());
        var read = (await store.GetAsync("web-1a2b3c4d"))!;

        var version = await store.SaveAsync(read with { State = DeploymentState.Running, Cursor = null });

        Assert.Equal(2, version);
        var again = (await store.GetAsync("web-1a2b3c4d"))!;
        Assert.Equal(DeploymentState.Running, again.State);
        Assert.Null(again.Cursor);
        Assert.Equal(2, again.Version);
    }

    [SkippableFact]
    public async Task A_save_at_a_stale_version_is_refused_as_a_conflict_and_changes_nothing()
    {
        var store = await OpenAsync();
        await store.SaveAsync(Records.New());
        var first = (await store.GetAsync("web-1a2b3c4d"))!;
        await store.SaveAsync(first with { State = DeploymentState.Running });

        var error = await Assert.ThrowsAsync<OrchestrationException>(async () => await store.SaveAsync(first with { State = DeploymentState.Failed }));

        Assert.Equal(OrchestrationErrorKind.Conflict, error.Kind);
        Assert.Contains("changed since it was read", error.Message);
        Assert.Equal(DeploymentState.Running, (await store.GetAsync("web-1a2b3c4d"))!.State);
    }

    [SkippableFact]
    public async Task Creating_a_record_whose_id_is_stored_is_refused()
    {
        var store = await OpenAsync();
        await store.SaveAsync(Records.New());

        var error = await Assert.ThrowsAsync<OrchestrationException>(async () => await store.SaveAsync(Records.New() with { CreatedBy = "mallory" }));

        Assert.Equal(OrchestrationErrorKind.Conflict, error.Kind);
        Assert.Contains("already exists", error.Message);
        Assert.Equal("alice", (await store.GetAsync("web-1a2b3c4d"))!.CreatedBy);
    }

    [SkippableFact]
    public async Task A_write_with_a_lower_fencing_token_is_refused_even_at_the_current_version()
    {
        var store = await OpenAsync();
        await store.SaveAsync(Records.New(fencingToken: 1));
        var read = (await store.GetAsync("web-1a2b3c4d"))!;
        await store.SaveAsync(read with { FencingToken = 2, State = DeploymentState.Paused });
        var current = (await store.GetAsync("web-1a2b3c4d"))!;

        var error = await Assert.ThrowsAsync<OrchestrationException>(async () => await store.SaveAsync(current with { FencingToken = 1, State = DeploymentState.Failed }));

        Assert.Equal(OrchestrationErrorKind.Conflict, error.Kind);
        Assert.Contains("another orchestrator instance owns it", error.Message);
        Assert.Equal(DeploymentState.Paused, (await store.GetAsync("web-1a2b3c4d"))!.State);
        Assert.Equal(2, (await store.GetAsync("web-1a2b3c4d"))!.FencingToken);
    }

    [SkippableFact]
    public async Task A_newer_owner_with_a_higher_token_writes_and_keeps_writing_with_the_same_token()
    {
        var store = await OpenAsync();
        await store.SaveAsync(Records.New(fencingToken: 3));
        var read = (await store.GetAsync("web-1a2b3c4d"))!;

        var second = await store.SaveAsync(read with { FencingToken = 4 });
        var third = await store.SaveAsync((await store.GetAsync("web-1a2b3c4d"))! with { FencingToken = 4, State = DeploymentState.Running });

        Assert.Equal(2, second);
        Assert.Equal(3, third);
    }

    [SkippableFact]
    public async Task Of_concurrent_saves_from_one_version_exactly_one_wins()
    {
        var store = await OpenAsync();
        var other = await OpenAsync();
        await store.SaveAsync(Records.New());
        var read = (await store.GetAsync("web-1a2b3c4d"))!;

        var attempts = Enumerable.Range(0, 8).Select(async i =>
        {
            try
            {
                await (i % 2 == 0 ? store : other).SaveAsync(read with { CreatedBy = "writer-" + i });
                return true;
            }
            catch (OrchestrationException ex) when (ex.Kind == OrchestrationErrorKind.Conflict)
            {
                return false;
            }
        });
        var results = await Task.WhenAll(attempts);

        Assert.Single(results, won => won);
        Assert.Equal(2, (await store.GetAsync("web-1a2b3c4d"))!.Version);
    }

    [SkippableFact]
    public async Task List_returns_every_record_with_its_version()
    {
        var store = await OpenAsync();
        await store.SaveAsync(Records.New("web-00000001"));
        await store.SaveAsync(Records.New("api-00000002"));
        await store.SaveAsync((await store.GetAsync("api-00000002"))! with { State = DeploymentState.Running });

        var listed = (await store.ListAsync()).OrderBy(r => r.Id, StringComparer.Ordinal).ToList();

        Assert.Equal(["api-00000002", "web-00000001"], listed.Select(r => r.Id));
        Assert.Equal([2L, 1L], listed.Select(r => r.Version));
    }

    [SkippableFact]
    public async Task Delete_is_idempotent_and_a_save_of_the_deleted_version_is_refused()
    {
        var store = await OpenAsync();
        await store.SaveAsync(Records.New());
        var read = (await store.GetAsync("web-1a2b3c4d"))!;

        await store.DeleteAsync("web-1a2b3c4d");
        await store.DeleteAsync("web-1a2b3c4d");

        Assert.Null(await store.GetAsync("web-1a2b3c4d"));
        var error = await Assert.ThrowsAsync<OrchestrationException>(async () => await store.SaveAsync(read with { State = DeploymentState.Running }));
        Assert.Equal(OrchestrationErrorKind.Conflict, error.Kind);
        Assert.Contains("deleted", error.Message);
    }

    [SkippableFact]
    public async Task A_backup_restores_every_record_with_its_revisions_into_the_emptied_store_in_one_replacement()
    {
        var store = await OpenAsync();
        await store.SaveAsync(Records.New());
        var second = Records.New("api-1a2b3c4d", fencingToken: 5) with { Revisions = [new RevisionSpec(1, Records.Spec()), new RevisionSpec(2, Records.Spec("web:2"))], StableRevision = 1, TargetRevision = 2 };
        await store.SaveAsync(second);
        var running = (await store.GetAsync("api-1a2b3c4d"))!;
        await store.SaveAsync(running with { State = DeploymentState.Running, StableRevision = 2, TargetRevision = null, Cursor = null });
        var clock = new Bpi.Orchestration.Testing.ManualTimeProvider(new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero));
        var backup = new Bpi.Orchestration.Backup.OrchestrationBackup([new Bpi.Orchestration.Backup.DeploymentStoreBackupPart(store)], clock, BackupKey);
        using var file = new MemoryStream();
        var manifest = await backup.BackupAsync(file);
        Assert.Equal((1, clock.GetUtcNow(), "deployments"), (manifest.FormatVersion, manifest.CreatedAt, Assert.Single(manifest.Parts).Name));
        var before = (await store.ListAsync()).OrderBy(r => r.Id).Select(r => System.Text.Encoding.UTF8.GetString(DeploymentJson.Serialize(r with { FencingToken = 0 }))).ToList();

        file.Position = 0;
        var refused = await Assert.ThrowsAsync<Bpi.Orchestration.Backup.OrchestrationBackupException>(() => backup.RestoreAsync(file));
        Assert.Equal(Bpi.Orchestration.Backup.BackupRefusal.NotEmpty, refused.Refusal);

        foreach (var record in await store.ListAsync())
        {
            await store.DeleteAsync(record.Id);
        }

        file.Position = 0;
        var report = await backup.RestoreAsync(file);
        Assert.Equal(manifest, report.Manifest with { Parts = manifest.Parts });
        var restored = await (await OpenAsync()).ListAsync();
        Assert.Equal(before, restored.OrderBy(r => r.Id).Select(r => System.Text.Encoding.UTF8.GetString(DeploymentJson.Serialize(r))).ToList());
        // Fencing tokens start again (the restored store's leases do), and the next save continues the version.
        var api = restored.Single(r => r.Id == "api-1a2b3c4d");
        Assert.Equal((0, 2, 2), (api.FencingToken, api.Version, api.Revisions.Count));
        Assert.Equal(3, await store.SaveAsync(api with { Message = "after restore", FencingToken = 1 }));
    }

    [SkippableFact]
    public async Task A_backup_with_a_changed_record_is_refused_and_the_store_is_left_as_it_was()
    {
        var store = await OpenAsync();
        await store.SaveAsync(Records.New());
        var backup = new Bpi.Orchestration.Backup.OrchestrationBackup([new Bpi.Orchestration.Backup.DeploymentStoreBackupPart(store)], TimeProvider.System, BackupKey);
        using var file = new MemoryStream();
        await backup.BackupAsync(file);
        await store.SaveAsync((await store.GetAsync("web-1a2b3c4d"))! with { State = DeploymentState.Running });

        var tampered = new MemoryStream();
        file.Position = 0;
        await file.CopyToAsync(tampered);
        using (var zip = new System.IO.Compression.ZipArchive(tampered, System.IO.Compression.ZipArchiveMode.Update, leaveOpen: true))
        {
            var entry = zip.GetEntry("parts/deployments")!;
            string text;
            using (var reader = new StreamReader(entry.Open()))
            {
                text = await reader.ReadToEndAsync();
            }

            entry.Delete();
            await using var writer = new StreamWriter(zip.CreateEntry("parts/deployments").Open());
            await writer.WriteAsync(text.Replace("alice", "alicf", StringComparison.Ordinal));
        }

        tampered.Position = 0;
        var refused = await Assert.ThrowsAsync<Bpi.Orchestration.Backup.OrchestrationBackupException>(() => backup.RestoreAsync(tampered, force: true));

        Assert.Equal(Bpi.Orchestration.Backup.BackupRefusal.Damaged, refused.Refusal);
        Assert.Contains(refused.Errors, e => e.Contains("'deployments' does not match the manifest", StringComparison.Ordinal));
        var left = Assert.Single(await store.ListAsync());
        Assert.Equal((DeploymentState.Running, "alice"), (left.State, left.CreatedBy));
    }

    [SkippableFact]
    public async Task A_missing_record_reads_as_null()
    {
        var store = await OpenAsync();

        Assert.Null(await store.GetAsync("nothing-12345678"));
        Assert.Empty(await store.ListAsync());
    }
}

public sealed class InMemoryDeploymentStoreContractTests : DeploymentStoreContract
{
    private readonly InMemoryDeploymentStore _store = new();

    protected override Task<IDeploymentStore> OpenAsync() => Task.FromResult<IDeploymentStore>(_store);
}

public sealed class FileDeploymentStoreContractTests : DeploymentStoreContract, IDisposable
{
    private readonly TempDirectory _directory = new("bpi-store-contract");

    // One FileDeploymentStore per process and directory (as documented): the second "view" is the same store.
    private FileDeploymentStore? _store;

    protected override Task<IDeploymentStore> OpenAsync() => Task.FromResult<IDeploymentStore>(_store ??= new FileDeploymentStore(_directory.Path));

    public void Dispose() => _directory.Dispose();
}

public sealed class PostgreSqlDeploymentStoreContractTests : DeploymentStoreContract, IAsyncLifetime
{
    private readonly List<PostgreSqlDatabase> _databases = [];
    private PostgresTestDatabase? _database;

    protected override async Task<IDeploymentStore> OpenAsync()
    {
        // Each test gets a database of its own; each call is another instance (its own pool) on it.
        _database ??= await PostgresTestEnvironment.CreateDatabaseAsync("store");
        var database = new PostgreSqlDatabase(new PostgreSqlStateOptions { ConnectionString = _database.ConnectionString });
        _databases.Add(database);
        return new PostgreSqlDeploymentStore(database);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
