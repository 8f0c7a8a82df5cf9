using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;

namespace Bpi.Orchestration.Audit.Tests.Verification;

public sealed class AuditVerifierTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointSigner _signer = CheckpointSigner.Generate("tests.example/key");

    public void Dispose()
    {
        _signer.Dispose();
        _dir.Dispose();
    }

    private CheckpointVerifier Verifier => new([_signer.VerifierKey]);

    private async Task CreateLogAsync(int entries, int payloadBytes = 64, long segmentSize = 64L * 1024 * 1024, int checkpointEvery = 0)
    {
        await using var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer, o =>
        {
            o.SegmentSize = segmentSize;
            o.CheckpointEveryEntries = checkpointEvery;
        }));
        await TestLog.AppendManyAsync(store, entries, payloadBytes: payloadBytes);
    }

    private string OnlySegment => Directory.GetFiles(_dir.Path, "*.seg").Single();

    [Fact]
    public async Task A_clean_log_verifies_in_full_with_its_checkpoints()
    {
        await CreateLogAsync(3000, checkpointEvery: 1000);
        var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier);
        Assert.True(result.IsValid, result.Message);
        Assert.Equal(3000, result.EntriesVerified);
        Assert.Equal(4, result.CheckpointsVerified); // at 1000, 2000 and 3000, and the empty log's when the store was created
        Assert.True(result.SignaturesChecked);
        Assert.Equal(3000, result.LatestCheckpoint!.TreeSize);
        Assert.Equal(result.LatestCheckpoint.RootHash, result.RootHash);
    }

    [Fact]
    public async Task Every_single_byte_flip_in_every_file_of_a_small_log_is_detected()
    {
        await CreateLogAsync(4);
        var files = Directory.GetFiles(_dir.Path).Where(f => new FileInfo(f).Length > 0).ToList();
        Assert.Equal(2, files.Count); // one segment and the checkpoint file; LOCK is empty
        var flips = 0;
        foreach (var file in files)
        {
            var original = await File.ReadAllBytesAsync(file);
            for (var i = 0; i < original.Length; i++)
            {
                var damaged = original.ToArray();
                damaged[i] ^= 0x01;
                await File.WriteAllBytesAsync(file, damaged);
                var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier);
                Assert.False(result.IsValid, $"flipping byte {i} of {Path.GetFileName(file)} went unnoticed");
                flips++;
            }

            await File.WriteAllBytesAsync(file, original);
        }

        Assert.True((await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier)).IsValid);
        Assert.True(flips > 500);
    }

    [Fact]
    public async Task Any_single_byte_change_anywhere_in_a_multi_segment_log_is_detected()
    {
        await CreateLogAsync(300, payloadBytes: 600, segmentSize: 64 * 1024, checkpointEvery: 50);
        var files = Directory.GetFiles(_dir.Path).Where(f => new FileInfo(f).Length > 0).OrderBy(f => f).ToArray();
        Assert.True(files.Length >= 4);
        var originals = files.Select(File.ReadAllBytes).ToArray();
        var gen = from file in Gen.Choose(0, files.Length - 1)
                  from position in Gen.Choose(0, int.MaxValue)
                  from mask in Gen.Choose(1, 255)
                  select (file, position, mask);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(150), Prop.ForAll(Arb.From(gen), t =>
        {
            var bytes = originals[t.file].ToArray();
            var at = t.position % bytes.Length;
            bytes[at] ^= (byte)t.mask;
            File.WriteAllBytes(files[t.file], bytes);
            try
            {
                return !AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier).GetAwaiter().GetResult().IsValid;
            }
            finally
            {
                File.WriteAllBytes(files[t.file], originals[t.file]);
            }
        }));
    }

    [Fact]
    public async Task The_first_bad_entry_and_why_are_reported_for_a_corrupted_record()
    {
        await CreateLogAsync(100);
        var ends = await Storage.FileAuditStoreTests.RecordEndsAsync(OnlySegment);
        var bytes = await File.ReadAllBytesAsync(OnlySegment);
        bytes[(int)ends[41] + 70] ^= 0x80; // inside the body of entry 42
        await File.WriteAllBytesAsync(OnlySegment, bytes);

        var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier);
        Assert.Equal(AuditVerificationFailure.CorruptRecord, result.Failure);
        Assert.Equal(42, result.FirstBadSequence);
        Assert.Equal(ends[41], result.FileOffset);
        Assert.Equal(42, result.EntriesVerified);
        Assert.Contains("entry 42", result.Message);
    }

    [Fact]
    public async Task Truncation_at_any_record_boundary_is_detected_against_the_signed_checkpoint()
    {
        await CreateLogAsync(40);
        var original = await File.ReadAllBytesAsync(OnlySegment);
        var ends = await Storage.FileAuditStoreTests.RecordEndsAsync(OnlySegment);
        foreach (var end in ends.Take(ends.Count - 1).Prepend(SegmentHeader.Size))
        {
            await File.WriteAllBytesAsync(OnlySegment, original[..(int)end]);
            var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier);
            Assert.Equal(AuditVerificationFailure.MissingEntries, result.Failure);
        }

        await File.WriteAllBytesAsync(OnlySegment, original[..(int)(ends[10] + 5)]);
        Assert.Equal(AuditVerificationFailure.CorruptRecord, (await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier)).Failure);
    }

    [Fact]
    public async Task Reordering_insertion_and_deletion_of_records_are_detected()
    {
        await CreateLogAsync(30);
        var original = await File.ReadAllBytesAsync(OnlySegment);
        var ends = await Storage.FileAuditStoreTests.RecordEndsAsync(OnlySegment);
        byte[] Record(int i) => original[(int)(i == 0 ? SegmentHeader.Size : ends[i - 1])..(int)ends[i]];
        byte[] Build(IEnumerable<int> order) => [.. original[..SegmentHeader.Size], .. order.SelectMany(Record)];

        var swapped = Enumerable.Range(0, 30).Select(i => i == 10 ? 11 : i == 11 ? 10 : i);
        await File.WriteAllBytesAsync(OnlySegment, Build(swapped));
        var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier);
        Assert.Equal(AuditVerificationFailure.SequenceMismatch, result.Failure);
        Assert.Equal(10, result.FirstBadSequence);

        await File.WriteAllBytesAsync(OnlySegment, Build(Enumerable.Range(0, 30).Where(i => i != 7)));
        result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier);
        Assert.Equal(AuditVerificationFailure.SequenceMismatch, result.Failure);
        Assert.Equal(7, result.FirstBadSequence);

        await File.WriteAllBytesAsync(OnlySegment, Build(Enumerable.Range(0, 30).SelectMany(i => i == 20 ? new[] { 20, 20 } : new[] { i })));
        result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier);
        Assert.Equal(AuditVerificationFailure.SequenceMismatch, result.Failure);
        Assert.Equal(21, result.FirstBadSequence);
    }

    [Fact]
    public async Task A_rewritten_entry_with_a_valid_crc_breaks_the_chain_and_a_rechained_log_breaks_the_signed_root()
    {
        await CreateLogAsync(20);
        var original = await File.ReadAllBytesAsync(OnlySegment);
        var ends = await Storage.FileAuditStoreTests.RecordEndsAsync(OnlySegment);

        // Change entry 5's outcome text and fix up its CRC, as an attacker would.
        var forged = original.ToArray();
        var start = (int)ends[4];
        var frameLength = (int)(ends[5] - ends[4]);
        var frame = forged.AsSpan(start, frameLength);
        var body = frame[RecordFraming.HeaderSize..];
        var at = body.IndexOf("succeeded"u8);
        "denied!!!"u8.CopyTo(body[at..]);
        RecordFraming.Seal(frame);
        await File.WriteAllBytesAsync(OnlySegment, forged);
        var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier);
        Assert.Equal(AuditVerificationFailure.BrokenChain, result.Failure);
        Assert.Equal(6, result.FirstBadSequence);

        // Re-chain every following entry too: only the signed checkpoint can tell now.
        Span<byte> previous = stackalloc byte[32];
        Span<byte> leaf = stackalloc byte[32];
        for (var i = 5; i < 20; i++)
        {
            var f = forged.AsSpan((int)ends[i - 1], (int)(ends[i] - ends[i - 1]));
            if (i == 5)
            {
                f[RecordFraming.HeaderSize..].Slice(AuditEntryEncoding.PreviousHashOffset, 32).CopyTo(previous);
            }

            RecordFraming.SealEntry(f, i, previous, leaf);
            leaf.CopyTo(previous);
        }

        await File.WriteAllBytesAsync(OnlySegment, forged);
        result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier);
        Assert.Equal(AuditVerificationFailure.RootMismatch, result.Failure);
        Assert.Contains("signed checkpoint at tree size 20", result.Message);
    }

    [Fact]
    public async Task A_checkpoint_signed_by_an_untrusted_key_fails_verification()
    {
        await CreateLogAsync(5);
        using var other = CheckpointSigner.Generate("tests.example/other");
        var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, new CheckpointVerifier([other.VerifierKey]));
        Assert.Equal(AuditVerificationFailure.InvalidCheckpoint, result.Failure);
    }

    [Fact]
    public async Task A_live_store_verifies_in_full_and_incrementally_from_a_trusted_checkpoint()
    {
        await using var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer));
        await TestLog.AppendManyAsync(store, 500);
        var trusted = await store.CreateCheckpointAsync();
        await TestLog.AppendManyAsync(store, 250, start: 500);

        var full = await AuditVerifier.VerifyAsync(store, Verifier);
        Assert.True(full.IsValid, full.Message);
        Assert.Equal(750, full.EntriesVerified);

        var incremental = await AuditVerifier.VerifyIncrementalAsync(store, trusted, Verifier);
        Assert.True(incremental.IsValid, incremental.Message);
        Assert.Equal(250, incremental.EntriesVerified);
        Assert.Equal(750, incremental.LatestCheckpoint!.TreeSize);
        Assert.Equal(store.GetRootHash(), incremental.RootHash);
    }

    [Fact]
    public async Task Incremental_verification_detects_a_changed_new_entry_and_a_forked_log()
    {
        TempDirectory forkDir = new();
        try
        {
            await using var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer));
            await TestLog.AppendManyAsync(store, 100);
            var trusted = await store.CreateCheckpointAsync();

            // A fork: another log under the same key whose history differs from entry 50 on.
            await using (var fork = await FileAuditStore.OpenAsync(TestLog.FileOptions(forkDir.Path, _signer)))
            {
                await TestLog.AppendManyAsync(fork, 50);
                await TestLog.AppendManyAsync(fork, 80, start: 1000);
                var forked = await AuditVerifier.VerifyIncrementalAsync(fork, trusted, Verifier);
                Assert.Equal(AuditVerificationFailure.InconsistentCheckpoints, forked.Failure);
            }

            await TestLog.AppendManyAsync(store, 20, start: 100);
            var segment = Directory.GetFiles(_dir.Path, "*.seg").Single();
            var ends = await Storage.FileAuditStoreTests.RecordEndsAsync(segment);
            await using (var stream = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
            {
                stream.Position = ends[109] + 60;
                var b = stream.ReadByte();
                stream.Position = ends[109] + 60;
                stream.WriteByte((byte)(b ^ 0x10));
            }

            var result = await AuditVerifier.VerifyIncrementalAsync(store, trusted, Verifier);
            Assert.Equal(AuditVerificationFailure.CorruptRecord, result.Failure);
            Assert.Equal(110, result.FirstBadSequence);
        }
        finally
        {
            forkDir.Dispose();
        }
    }
}
