using System.Runtime.CompilerServices;

namespace Bpi.Orchestration.Audit.Tests.Storage;

/// <summary>
/// The public storage extension point: a store over a storage written only against public API (as the PostgreSQL
/// package's is) chains, proves, checkpoints, verifies and reopens like the built-in stores, and refuses a storage
/// whose bytes were changed.
/// </summary>
public sealed class AuditLogStoreTests
{
    [Fact]
    public async Task A_store_over_a_custom_storage_chains_checkpoints_verifies_and_reopens_with_every_entry()
    {
        using var signer = CheckpointSigner.Generate("tests.example/key");
        var data = new StoredLog();
        var options = new InMemoryAuditStoreOptions { CheckpointSigners = { signer }, CheckpointEveryEntries = 0, CheckpointInterval = TimeSpan.Zero };
        await using (var store = await ListAuditStore.OpenAsync(data, options))
        {
            Assert.Single(data.Notes); // the checkpoint of the empty log
            await Task.WhenAll(Enumerable.Range(0, 50).Select(i => store.AppendAsync(TestLog.Entry(i)).AsTask()));
            await store.CreateCheckpointAsync();
        }

        Assert.Equal(50, data.Frames.Count);
        Assert.Equal(50, data.Head.Size);
        await using var reopened = await ListAuditStore.OpenAsync(data, options);
        Assert.Equal(50, reopened.Count);
        Assert.Equal(50, reopened.LatestCheckpoint!.TreeSize);
        var entries = await TestLog.ReadAllAsync(reopened);
        Assert.Equal(data.Head.LastEntryHash, entries[^1].Hash);
        Assert.True(reopened.GetInclusionProof(17).Verify(entries[17].Hash, reopened.GetRootHash()));
        await reopened.AppendAsync(TestLog.Entry(50));
        var result = await AuditVerifier.VerifyAsync(reopened, new CheckpointVerifier([signer.VerifierKey]));
        Assert.True(result.IsValid, result.Message);
        Assert.Equal(51, result.EntriesVerified);
    }

    [Fact]
    public async Task A_changed_entry_in_the_storage_stops_the_store_from_opening()
    {
        var data = new StoredLog();
        await using (var store = await ListAuditStore.OpenAsync(data, new InMemoryAuditStoreOptions()))
        {
            for (var i = 0; i < 5; i++)
            {
                await store.AppendAsync(TestLog.Entry(i));
            }
        }

        data.Frames[3][^1] ^= 0x01;
        var error = await Assert.ThrowsAsync<AuditStoreException>(async () => await ListAuditStore.OpenAsync(data, new InMemoryAuditStoreOptions()));
        Assert.Contains("Entry 3", error.Message);
        Assert.True(data.Disposed);
    }

    [Fact]
    public async Task A_storage_that_reports_no_head_is_refused_and_released()
    {
        var data = new StoredLog { ReportsHead = false };
        var error = await Assert.ThrowsAsync<AuditStoreException>(async () => await ListAuditStore.OpenAsync(data, new InMemoryAuditStoreOptions()));
        Assert.Contains("reports no head", error.Message);
        Assert.True(data.Disposed);
    }

    /// <summary>What a database would hold: the frames, the head and the checkpoint notes.</summary>
    private sealed class StoredLog
    {
        public List<byte[]> Frames { get; } = [];

        public List<string> Notes { get; } = [];

        public AuditLogHead Head { get; set; }

        public bool ReportsHead { get; init; } = true;

        public bool Disposed { get; set; }
    }

    private sealed class ListAuditStore : AuditLogStore
    {
        public static async Task<ListAuditStore> OpenAsync(StoredLog data, AuditStoreOptions options)
        {
            data.Disposed = false;
            var store = new ListAuditStore();
            await store.OpenStorageAsync(new ListStorage(data), options);
            return store;
        }
    }

    /// <summary>A storage written against public API only.</summary>
    private sealed class ListStorage(StoredLog data) : AuditStorage
    {
        private readonly List<(long Sequence, byte[] Frame)> _pending = [];

        public override void Append(long sequence, ReadOnlySpan<byte> frame) => _pending.Add((sequence, frame.ToArray()));

        public override ValueTask<long> WriteAsync(AuditLogHead head, CancellationToken cancellationToken)
        {
            lock (data)
            {
                foreach (var (sequence, frame) in _pending)
                {
                    Assert.Equal(data.Frames.Count, sequence);
                    data.Frames.Add(frame);
                }

                data.Head = head;
            }

            _pending.Clear();
            return ValueTask.FromResult(head.Size);
        }

        public override ValueTask<AuditLogHead?> ReadHeadAsync(CancellationToken cancellationToken)
        {
            lock (data)
            {
                return ValueTask.FromResult<AuditLogHead?>(data.ReportsHead ? data.Head : null);
            }
        }

        public override ValueTask WriteCheckpointAsync(SignedCheckpoint checkpoint, CancellationToken cancellationToken)
        {
            lock (data)
            {
                data.Notes.Add(checkpoint.NoteText);
            }

            return ValueTask.CompletedTask;
        }

        public override ValueTask<IReadOnlyList<string>> ReadCheckpointsAsync(CancellationToken cancellationToken)
        {
            lock (data)
            {
                return ValueTask.FromResult<IReadOnlyList<string>>([.. data.Notes]);
            }
        }

        public override async IAsyncEnumerable<AuditFrameBlock> ReadFramesAsync(long from, long to, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Yield();
            byte[][] frames;
            lock (data)
            {
                frames = [.. data.Frames.Skip((int)from).Take((int)(to - from)).Select(f => (byte[])f.Clone())];
            }

            // Two frames per block: the store must stitch blocks together.
            for (var i = 0; i < frames.Length; i += 2)
            {
                var part = frames.Skip(i).Take(2).ToArray();
                var buffer = part.SelectMany(f => f).ToArray();
                yield return new AuditFrameBlock(buffer, buffer.Length, from + i, part.Length);
            }
        }

        public override ValueTask DisposeAsync()
        {
            data.Disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}
