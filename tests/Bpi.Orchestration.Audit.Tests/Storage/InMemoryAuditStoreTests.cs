namespace Bpi.Orchestration.Audit.Tests.Storage;

public sealed class InMemoryAuditStoreTests
{
    [Fact]
    public async Task The_in_memory_store_chains_proves_checkpoints_and_verifies_like_the_file_store()
    {
        using var signer = CheckpointSigner.Generate("tests.example/key");
        await using var store = new InMemoryAuditStore(new InMemoryAuditStoreOptions { CheckpointSigners = { signer }, CheckpointEveryEntries = 0, CheckpointInterval = TimeSpan.Zero });
        var receipts = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => store.AppendAsync(TestLog.Entry(i)).AsTask()));
        var entries = await TestLog.ReadAllAsync(store);
        Assert.Equal(300, entries.Count);
        Assert.Equal(receipts.OrderBy(r => r.Sequence).Select(r => r.Hash), entries.Select(e => e.Hash));
        var checkpoint = await store.CreateCheckpointAsync();
        Assert.True(store.GetInclusionProof(123).Verify(entries[123].Hash, checkpoint.RootHash));
        var result = await AuditVerifier.VerifyAsync(store, new CheckpointVerifier([signer.VerifierKey]));
        Assert.True(result.IsValid, result.Message);
        Assert.Equal(1, result.CheckpointsVerified);
    }

    [Fact]
    public void Invalid_in_memory_options_are_refused_with_every_problem()
    {
        var problems = OptionsProblems.Of(Assert.ThrowsAny<Exception>(() => new InMemoryAuditStore(new InMemoryAuditStoreOptions { Origin = "two\nlines", MaxBatchEntries = 0 })), typeof(InMemoryAuditStoreOptions));
        Assert.Equal(2, problems.Count);
    }
}
