namespace Bpi.Orchestration.Audit.Tests.Storage;

public sealed class FileAuditStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointSigner _signer = CheckpointSigner.Generate("tests.example/key");

    public void Dispose()
    {
        _signer.Dispose();
        _dir.Dispose();
    }

    private static FileAuditStorage StorageOf(FileAuditStore store) => (FileAuditStorage)((IAuditEngineOwner)store).Engine.Storage;

    [Fact]
    public async Task Appended_entries_read_back_in_order_with_a_hash_chain_and_the_rfc_root()
    {
        await using var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path));
        var receipts = await TestLog.AppendManyAsync(store, 50);
        var entries = await TestLog.ReadAllAsync(store);

        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), receipts.Select(r => r.Sequence));
        Assert.Equal(50, entries.Count);
        Assert.Equal(AuditHash.Zero, entries[0].PreviousHash);
        for (var i = 0; i < entries.Count; i++)
        {
            Assert.Equal(i, entries[i].Sequence);
            Assert.Equal(receipts[i].Hash, entries[i].Hash);
            Assert.Equal(TestLog.Entry(i).Actor, entries[i].Actor);
            Assert.Equal(TestLog.Entry(i).Payload.ToArray(), entries[i].Payload.ToArray());
            if (i > 0)
            {
                Assert.Equal(entries[i - 1].Hash, entries[i].PreviousHash);
            }
        }

        Assert.Equal(MerkleHasher.ComputeRoot(entries.Select(e => e.Hash).ToList()), store.GetRootHash());
        Assert.Equal(entries[17].Hash, (await store.GetEntryAsync(17)).Hash);
    }

    [Fact]
    public async Task Concurrent_appends_share_fsyncs_and_every_acknowledged_entry_is_stored_once()
    {
        await using var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path));
        var tasks = Enumerable.Range(0, 2000).Select(i => store.AppendAsync(TestLog.Entry(i)).AsTask()).ToArray();
        var receipts = await Task.WhenAll(tasks);

        Assert.Equal(2000, receipts.Select(r => r.Sequence).Distinct().Count());
        Assert.Equal(2000, store.Count);
        Assert.True(StorageOf(store).CommitCount < 2000, $"{StorageOf(store).CommitCount} commits for 2000 appends: no group commit");
        var entries = await TestLog.ReadAllAsync(store);
        Assert.Equal(receipts.OrderBy(r => r.Sequence).Select(r => r.Hash), entries.Select(e => e.Hash));
    }

    [Fact]
    public async Task Reopening_keeps_every_entry_and_continues_the_chain()
    {
        AuditHash rootBefore;
        await using (var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer)))
        {
            await TestLog.AppendManyAsync(store, 30);
            rootBefore = store.GetRootHash();
        }

        await using (var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer)))
        {
            Assert.Equal(30, store.Count);
            Assert.Equal(rootBefore, store.GetRootHash());
            Assert.Equal(30, store.LatestCheckpoint!.TreeSize);
            var receipt = await store.AppendAsync(TestLog.Entry(30));
            Assert.Equal(30, receipt.Sequence);
            Assert.Equal((await store.GetEntryAsync(29)).Hash, (await store.GetEntryAsync(30)).PreviousHash);
            Assert.True(store.GetConsistencyProof(30).Verify(rootBefore, store.GetRootHash()));
        }

        var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, new CheckpointVerifier([_signer.VerifierKey]));
        Assert.True(result.IsValid, result.Message);
        Assert.Equal(31, result.EntriesVerified);
    }

    [Fact]
    public async Task Segments_rotate_at_the_size_limit_and_reads_and_proofs_span_them()
    {
        var options = TestLog.FileOptions(_dir.Path, configure: o => o.SegmentSize = 64 * 1024);
        await using (var store = await FileAuditStore.OpenAsync(options))
        {
            await TestLog.AppendManyAsync(store, 400, payloadBytes: 700);
            Assert.True(StorageOf(store).SegmentCount >= 4);
        }

        Assert.True(Directory.GetFiles(_dir.Path, "*.seg").Length >= 4);
        await using (var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, configure: o => o.SegmentSize = 64 * 1024)))
        {
            Assert.Equal(400, store.Count);
            var entries = await TestLog.ReadAllAsync(store);
            Assert.Equal(Enumerable.Range(0, 400).Select(i => (long)i), entries.Select(e => e.Sequence));
            var slice = new List<AuditEntry>();
            await foreach (var entry in store.ReadAsync(95, 20))
            {
                slice.Add(entry);
            }

            Assert.Equal(Enumerable.Range(95, 20).Select(i => (long)i), slice.Select(e => e.Sequence));
            foreach (var i in new[] { 0, 93, 94, 95, 399 })
            {
                Assert.True(store.GetInclusionProof(i).Verify(entries[i].Hash, store.GetRootHash()));
            }
        }
    }

    [Fact]
    public async Task A_torn_tail_is_truncated_on_open_and_the_store_verifies_and_appends_again()
    {
        await using (var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer)))
        {
            await TestLog.AppendManyAsync(store, 10);
        }

        var segment = Directory.GetFiles(_dir.Path, "*.seg").Single();
        var goodLength = new FileInfo(segment).Length;
        // A torn write: half of a record, then garbage.
        var frame = File.ReadAllBytes(segment)[(int)(goodLength - 120)..];
        await using (var stream = new FileStream(segment, FileMode.Append))
        {
            stream.Write(frame.AsSpan(0, 60));
            stream.Write(new byte[] { 0xde, 0xad, 0xbe, 0xef });
        }

        await using (var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer)))
        {
            Assert.Equal(10, store.Count);
            Assert.Equal(goodLength, new FileInfo(segment).Length);
            await store.AppendAsync(TestLog.Entry(10));
        }

        var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path);
        Assert.True(result.IsValid, result.Message);
        Assert.Equal(11, result.EntriesVerified);
    }

    [Fact]
    public async Task Damage_that_is_not_a_torn_write_is_refused_on_open()
    {
        await using (var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, configure: o => o.SegmentSize = 64 * 1024)))
        {
            await TestLog.AppendManyAsync(store, 200, payloadBytes: 700);
        }

        var first = Directory.GetFiles(_dir.Path, "*.seg").Order().First();
        var bytes = File.ReadAllBytes(first);
        bytes[5000] ^= 0x40;
        File.WriteAllBytes(first, bytes);

        var error = await Assert.ThrowsAsync<AuditStoreException>(async () => await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path)));
        Assert.Contains("damaged", error.Message);
        Assert.Contains("AuditVerifier", error.Message);
    }

    [Fact]
    public async Task Damage_in_the_newest_segment_longer_than_the_unsynced_batches_is_refused_not_truncated()
    {
        void Configure(FileAuditStoreOptions o)
        {
            o.MaxBatchBytes = 64 * 1024;
            o.MaxPayloadBytes = 1024;
        }

        await using (var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, configure: Configure)))
        {
            await TestLog.AppendManyAsync(store, 3000, payloadBytes: 700);
        }

        var segment = Directory.GetFiles(_dir.Path, "*.seg").Single();
        var ends = await RecordEndsAsync(segment);
        var bytes = await File.ReadAllBytesAsync(segment);
        bytes[(int)ends[9] + 100] ^= 0x04; // entry 10, about 2.3 MB before the end, past four batches
        await File.WriteAllBytesAsync(segment, bytes);

        var error = await Assert.ThrowsAsync<AuditStoreException>(async () => await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, configure: Configure)));
        Assert.Contains("is not a torn write", error.Message);
        Assert.Equal(bytes.Length, new FileInfo(segment).Length);
    }

    [Fact]
    public async Task A_log_shorter_than_its_signed_checkpoint_is_refused_because_acknowledged_entries_are_missing()
    {
        await using (var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer)))
        {
            await TestLog.AppendManyAsync(store, 20);
        }

        var segment = Directory.GetFiles(_dir.Path, "*.seg").Single();
        var ends = await RecordEndsAsync(segment);
        using (var stream = new FileStream(segment, FileMode.Open))
        {
            stream.SetLength(ends[^2]);
        }

        var error = await Assert.ThrowsAsync<AuditStoreException>(async () => await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer)));
        Assert.Contains("acknowledged entries are missing", error.Message);
    }

    [Fact]
    public async Task A_directory_can_be_open_by_only_one_store_at_a_time()
    {
        await using var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path));
        var error = await Assert.ThrowsAsync<AuditStoreException>(async () => await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path)));
        Assert.Contains("already open", error.Message);
    }

    [Fact]
    public async Task Invalid_options_are_refused_with_every_problem_listed()
    {
        var options = new FileAuditStoreOptions { Path = "", Origin = "", SegmentSize = 10, MaxBatchBytes = 1, MaxBatchEntries = 0, CheckpointEveryEntries = -1, CheckpointInterval = TimeSpan.FromSeconds(-1), MaxPayloadBytes = -5 };
        var problems = OptionsProblems.Of(await Assert.ThrowsAnyAsync<Exception>(async () => await FileAuditStore.OpenAsync(options)), typeof(FileAuditStoreOptions));
        Assert.Equal(8, problems.Count);
        Assert.Contains(problems, e => e.StartsWith("FileAuditStoreOptions.Path: empty; ", StringComparison.Ordinal));
        Assert.Contains(problems, e => e.StartsWith("FileAuditStoreOptions.SegmentSize: 10 is under 65,536 bytes; ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Checkpoints_are_signed_every_n_entries_and_on_close()
    {
        await using (var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer, o => o.CheckpointEveryEntries = 10)))
        {
            await TestLog.AppendManyAsync(store, 25);
            Assert.True(SpinWait.SpinUntil(() => store.LatestCheckpoint?.TreeSize >= 20, TimeSpan.FromSeconds(30)));
        }

        await using (var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer)))
        {
            Assert.Equal(25, store.LatestCheckpoint!.TreeSize);
            var sizes = ((IAuditEngineOwner)store).Engine.Checkpoints.Select(c => c.TreeSize).ToList();
            Assert.Equal(25, sizes[^1]);
            Assert.True(sizes.Count >= 2);
            Assert.True(new CheckpointVerifier([_signer.VerifierKey]).TryVerify(store.LatestCheckpoint.NoteText, out _, out _));
        }
    }

    [Fact]
    public async Task Checkpoints_are_signed_on_the_interval_of_the_time_provider()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UnixEpoch.AddYears(55));
        await using var store = FileAuditStore.Open(TestLog.FileOptions(_dir.Path, _signer, o => o.CheckpointInterval = TimeSpan.FromSeconds(5)), clock, null);
        var receipt = await store.AppendAsync(new NewAuditEntry { Actor = "a", Action = "b", Target = "c", Outcome = "d" });
        Assert.Equal(clock.GetUtcNow(), receipt.Timestamp);
        Assert.Equal(0, store.LatestCheckpoint!.TreeSize); // the checkpoint of the empty log, signed when the store was created
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(SpinWait.SpinUntil(() => store.LatestCheckpoint.TreeSize > 0, TimeSpan.FromSeconds(30)));
        Assert.Equal(1, store.LatestCheckpoint!.TreeSize);
    }

    [Fact]
    public async Task An_explicit_checkpoint_covers_everything_committed_and_requires_a_signer()
    {
        await using (var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer)))
        {
            await TestLog.AppendManyAsync(store, 7);
            var checkpoint = await store.CreateCheckpointAsync();
            Assert.Equal(7, checkpoint.TreeSize);
            Assert.Equal(store.GetRootHash(), checkpoint.RootHash);
            Assert.Same(checkpoint, await store.CreateCheckpointAsync());
        }

        using var other = new TempDirectory();
        await using var unsigned = await FileAuditStore.OpenAsync(TestLog.FileOptions(other.Path));
        var error = await Assert.ThrowsAsync<AuditStoreException>(async () => await unsigned.CreateCheckpointAsync());
        Assert.Contains("CheckpointSigners", error.Message);
    }

    [Fact]
    public async Task Appending_after_dispose_fails_with_a_message_that_says_what_to_do()
    {
        var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path));
        await store.DisposeAsync();
        var error = await Assert.ThrowsAsync<AuditStoreException>(async () => await store.AppendAsync(TestLog.Entry(0)));
        Assert.Contains("open it again", error.Message);
    }

    internal static async Task<List<long>> RecordEndsAsync(string segment)
    {
        var bytes = await File.ReadAllBytesAsync(segment);
        var ends = new List<long>();
        long position = SegmentHeader.Size;
        while (position < bytes.Length)
        {
            position += RecordFraming.HeaderSize + RecordFraming.ReadLength(bytes.AsSpan((int)position));
            ends.Add(position);
        }

        return ends;
    }
}
