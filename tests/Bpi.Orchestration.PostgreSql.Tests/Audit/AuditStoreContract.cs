using System.Text;
using Bpi.Orchestration.Audit;

namespace Bpi.Orchestration.PostgreSql.Tests.Audit;

/// <summary>
/// The one test suite every <see cref="IAuditStore"/> passes (in-memory, file, PostgreSQL): the same chain, proofs,
/// signed checkpoints, verification and offline export, because they are one engine on different storage.
/// </summary>
public abstract class AuditStoreContract : IAsyncLifetime
{
    protected const string Origin = "tests.example/audit";

    protected CheckpointSigner Signer { get; } = CheckpointSigner.Generate("tests.example/key");

    protected CheckpointVerifier Verifier => new([Signer.VerifierKey]);

    /// <summary>Opens the store under test (with <see cref="Signer"/>); durable stores reopen what was stored before.</summary>
    protected abstract Task<IAuditStore> OpenAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync()
    {
        Signer.Dispose();
        return Task.CompletedTask;
    }

    protected static NewAuditEntry Entry(int n) => new()
    {
        Actor = $"user-{n % 5}",
        Action = n % 2 == 0 ? "deployment.deploy" : "rollout.step.completed",
        Target = $"web-{n % 7:D8}",
        Outcome = "succeeded",
        Timestamp = DateTimeOffset.UnixEpoch.AddSeconds(1_700_000_000 + n),
        Payload = Encoding.UTF8.GetBytes($"{{\"n\":{n}}}"),
    };

    protected static async Task<List<AuditEntry>> ReadAllAsync(IAuditStore store)
    {
        var entries = new List<AuditEntry>();
        await foreach (var entry in store.ReadAsync())
        {
            entries.Add(entry);
        }

        return entries;
    }

    [SkippableFact]
    public async Task Concurrent_appends_form_one_chain_read_back_in_order()
    {
        await using var store = await OpenAsync();

        var receipts = await Task.WhenAll(Enumerable.Range(0, 500).Select(i => store.AppendAsync(Entry(i)).AsTask()));
        var entries = await ReadAllAsync(store);

        Assert.Equal(500, store.Count);
        Assert.Equal(Enumerable.Range(0, 500).Select(i => (long)i), receipts.Select(r => r.Sequence).Order());
        Assert.Equal(receipts.OrderBy(r => r.Sequence).Select(r => r.Hash), entries.Select(e => e.Hash));
        Assert.Equal(AuditHash.Zero, entries[0].PreviousHash);
        for (var i = 1; i < entries.Count; i++)
        {
            Assert.Equal(entries[i - 1].Hash, entries[i].PreviousHash);
        }
    }

    [SkippableFact]
    public async Task Inclusion_and_consistency_proofs_verify_against_signed_checkpoints()
    {
        await using var store = await OpenAsync();
        for (var i = 0; i < 37; i++)
        {
            await store.AppendAsync(Entry(i));
        }

        var older = await store.CreateCheckpointAsync();
        await Task.WhenAll(Enumerable.Range(37, 100).Select(i => store.AppendAsync(Entry(i)).AsTask()));
        var newer = await store.CreateCheckpointAsync();
        var entry = await store.GetEntryAsync(29);

        Assert.Equal(137, newer.TreeSize);
        Assert.True(Verifier.TryVerify(newer.NoteText, out _, out var error), error);
        Assert.True(store.GetInclusionProof(29).Verify(entry.Hash, newer.RootHash));
        Assert.True(store.GetInclusionProof(29, 37).Verify(entry.Hash, older.RootHash));
        Assert.True(store.GetConsistencyProof(37, 137).Verify(older.RootHash, newer.RootHash));
        Assert.Equal(newer.RootHash, store.GetRootHash());
    }

    [SkippableFact]
    public async Task The_whole_store_verifies_and_its_export_verifies_offline()
    {
        await using var store = await OpenAsync();
        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => store.AppendAsync(Entry(i)).AsTask()));
        await store.CreateCheckpointAsync();
        using var export = new MemoryStream();

        var result = await AuditVerifier.VerifyAsync(store, Verifier);
        await AuditExport.WriteAsync(store, export);
        export.Position = 0;
        var offline = await AuditVerifier.VerifyExportAsync(export, Verifier);

        Assert.True(result.IsValid, result.Message);
        Assert.Equal(200, result.EntriesVerified);
        Assert.True(offline.IsValid, offline.Message);
        Assert.Equal(200, offline.EntriesVerified);
    }

    [SkippableFact]
    public async Task An_invalid_entry_is_refused_and_the_chain_goes_on()
    {
        await using var store = await OpenAsync();
        await store.AppendAsync(Entry(0));

        await Assert.ThrowsAsync<ArgumentException>(async () => await store.AppendAsync(new NewAuditEntry { Actor = "", Action = "deployment.deploy", Target = "web", Outcome = "accepted" }));
        var receipt = await store.AppendAsync(Entry(2));

        Assert.Equal(1, receipt.Sequence);
        Assert.Equal(2, store.Count);
    }
}

/// <summary>The part of the suite for stores that keep their entries: a store opened again continues the same chain.</summary>
public abstract class DurableAuditStoreContract : AuditStoreContract
{
    [SkippableFact]
    public async Task A_reopened_store_keeps_every_entry_and_checkpoint_and_continues_the_chain()
    {
        AuditHash last;
        await using (var store = await OpenAsync())
        {
            await Task.WhenAll(Enumerable.Range(0, 120).Select(i => store.AppendAsync(Entry(i)).AsTask()));
            await store.CreateCheckpointAsync();
            last = (await store.GetEntryAsync(119)).Hash;
        }

        await using var reopened = await OpenAsync();
        var next = await reopened.AppendAsync(Entry(120));
        var result = await AuditVerifier.VerifyAsync(reopened, Verifier);

        Assert.Equal(120, next.Sequence);
        Assert.Equal(last, (await reopened.GetEntryAsync(120)).PreviousHash);
        Assert.True(result.IsValid, result.Message);
        Assert.Equal(121, result.EntriesVerified);
    }
}

public sealed class InMemoryAuditStoreContractTests : AuditStoreContract
{
    protected override Task<IAuditStore> OpenAsync()
        => Task.FromResult<IAuditStore>(new InMemoryAuditStore(new InMemoryAuditStoreOptions { Origin = Origin, CheckpointSigners = { Signer }, CheckpointInterval = TimeSpan.Zero, CheckpointEveryEntries = 0 }));
}

public sealed class FileAuditStoreContractTests : DurableAuditStoreContract
{
    private readonly TempDirectory _directory = new("bpi-audit-contract");

    protected override async Task<IAuditStore> OpenAsync()
        => await FileAuditStore.OpenAsync(new FileAuditStoreOptions { Path = _directory.Path, Origin = Origin, CheckpointSigners = { Signer }, CheckpointInterval = TimeSpan.Zero, CheckpointEveryEntries = 0 });

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }
}

public sealed class PostgreSqlAuditStoreContractTests : DurableAuditStoreContract
{
    private PostgresTestDatabase? _database;

    protected override async Task<IAuditStore> OpenAsync()
    {
        _database ??= await PostgresTestEnvironment.CreateDatabaseAsync("audit");
        return await PostgreSqlAuditStore.OpenAsync(new PostgreSqlAuditStoreOptions { ConnectionString = _database.ConnectionString, Origin = Origin, CheckpointSigners = { Signer }, CheckpointInterval = TimeSpan.Zero, CheckpointEveryEntries = 0 });
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
