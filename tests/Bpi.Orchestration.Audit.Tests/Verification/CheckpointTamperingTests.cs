using Bpi.Orchestration.Audit.Tests.Storage;

namespace Bpi.Orchestration.Audit.Tests.Verification;

/// <summary>
/// Tampering with the checkpoint file (probe 5 of the reliability report, defect D10): removing, truncating or damaging
/// checkpoints must never make a log verify, and the store must never sign over such a log.
/// </summary>
public sealed class CheckpointTamperingTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointSigner _signer = CheckpointSigner.Generate("tests.example/key");

    public void Dispose()
    {
        _signer.Dispose();
        _dir.Dispose();
    }

    private CheckpointVerifier Verifier => new([_signer.VerifierKey], TestLog.Origin);

    private string CheckpointFile => _dir.Combine("checkpoints.log");

    private string OnlySegment => Directory.GetFiles(_dir.Path, "*.seg").Single();

    /// <summary>Three sessions of ten entries: each close signs a checkpoint (at 10, 20 and 30 entries).</summary>
    internal static async Task CreateLogAsync(string path, CheckpointSigner signer, int sessions = 3, Action<FileAuditStoreOptions>? configure = null)
    {
        for (var s = 0; s < sessions; s++)
        {
            await using var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(path, signer, configure));
            await TestLog.AppendManyAsync(store, 10, start: s * 10);
        }
    }

    internal static List<long> RecordEnds(byte[] bytes, long start = 0)
    {
        var ends = new List<long>();
        var position = start;
        while (position < bytes.Length)
        {
            position += RecordFraming.HeaderSize + RecordFraming.ReadLength(bytes.AsSpan((int)position));
            ends.Add(position);
        }

        return ends;
    }

    /// <summary>Changes entry <paramref name="sequence"/>'s actor and recomputes its CRC and the chain after it, as an attacker would.</summary>
    internal static async Task RewriteAndRechainAsync(string segment, int sequence)
    {
        var bytes = await File.ReadAllBytesAsync(segment);
        var ends = await FileAuditStoreTests.RecordEndsAsync(segment);
        long Start(int i) => i == 0 ? SegmentHeader.Size : ends[i - 1];
        var body = bytes.AsSpan((int)Start(sequence) + RecordFraming.HeaderSize);
        var at = body.IndexOf("user-"u8);
        "evil-"u8.CopyTo(body[at..]);
        var previous = new byte[32];
        var leaf = new byte[32];
        bytes.AsSpan((int)Start(sequence) + RecordFraming.HeaderSize + AuditEntryEncoding.PreviousHashOffset, 32).CopyTo(previous);
        for (var i = sequence; i < ends.Count; i++)
        {
            RecordFraming.SealEntry(bytes.AsSpan((int)Start(i), (int)(ends[i] - Start(i))), i, previous, leaf);
            leaf.CopyTo(previous, 0);
        }

        await File.WriteAllBytesAsync(segment, bytes);
    }

    private async Task<byte[]> KeepCheckpointsUpToAsync(long treeSize)
    {
        var bytes = await File.ReadAllBytesAsync(CheckpointFile);
        var kept = 0L;
        foreach (var end in RecordEnds(bytes))
        {
            var start = kept;
            var note = System.Text.Encoding.UTF8.GetString(bytes, (int)start + RecordFraming.HeaderSize, (int)(end - start - RecordFraming.HeaderSize));
            if (long.Parse(note.Split('\n')[1], System.Globalization.CultureInfo.InvariantCulture) > treeSize)
            {
                break;
            }

            kept = end;
        }

        var truncated = bytes[..(int)kept];
        await File.WriteAllBytesAsync(CheckpointFile, truncated);
        return truncated;
    }

    [Fact]
    public async Task Truncating_the_checkpoint_file_at_any_record_boundary_fails_verification()
    {
        await CreateLogAsync(_dir.Path, _signer);
        var original = await File.ReadAllBytesAsync(CheckpointFile);
        foreach (var end in RecordEnds(original).SkipLast(1).Prepend(0))
        {
            await File.WriteAllBytesAsync(CheckpointFile, original[..(int)end]);
            var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier);
            Assert.False(result.IsValid, $"truncated to {end} bytes: {result.Message}");
            Assert.Contains("covered by a signed checkpoint", result.Message.Replace("no signed checkpoint", "covered by a signed checkpoint", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Removing_the_last_checkpoint_fails_verification_and_names_the_entries_it_covered()
    {
        await CreateLogAsync(_dir.Path, _signer);
        await KeepCheckpointsUpToAsync(20);
        var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier);
        Assert.False(result.IsValid, result.Message);
        Assert.Contains("10 entries (from entry 20) are not yet covered by a signed checkpoint", result.Message);
        Assert.Equal(20, result.FirstBadSequence);
    }

    [Fact]
    public async Task An_emptied_or_deleted_checkpoint_file_fails_verification()
    {
        await CreateLogAsync(_dir.Path, _signer);
        await File.WriteAllBytesAsync(CheckpointFile, []);
        var emptied = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier);
        Assert.False(emptied.IsValid, emptied.Message);
        Assert.Contains("no signed checkpoint", emptied.Message);

        File.Delete(CheckpointFile);
        var deleted = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier);
        Assert.False(deleted.IsValid, deleted.Message);
        Assert.Contains("no signed checkpoint", deleted.Message);
    }

    [Fact]
    public async Task A_rechained_rewrite_whose_covering_checkpoints_were_removed_fails_verification()
    {
        foreach (var (rewritten, keep) in new[] { (25, 20L), (15, 10L), (5, 0L), (5, -1L) })
        {
            using var dir = new TempDirectory();
            await CreateLogAsync(dir.Path, _signer);
            await RewriteAndRechainAsync(Directory.GetFiles(dir.Path, "*.seg").Single(), rewritten);
            var checkpointFile = System.IO.Path.Combine(dir.Path, "checkpoints.log");
            var bytes = await File.ReadAllBytesAsync(checkpointFile);
            var ends = RecordEnds(bytes);
            // Keep the checkpoints up to tree size 'keep' (-1: none at all). Records are at 0 (when the store signs one for the empty log), 10, 20, 30.
            var sizes = ends.Select((end, i) => SizeOf(bytes, i == 0 ? 0 : ends[i - 1], end)).ToList();
            var keptEnd = sizes.Select((size, i) => (size, end: ends[i])).Where(x => x.size <= keep).Select(x => x.end).LastOrDefault();
            await File.WriteAllBytesAsync(checkpointFile, bytes[..(int)keptEnd]);

            var result = await AuditVerifier.VerifyDirectoryAsync(dir.Path, Verifier);
            Assert.False(result.IsValid, $"entry {rewritten} rewritten, checkpoints kept up to {keep}: {result.Message}");
        }
    }

    [Fact]
    public async Task Garbage_over_the_checkpoint_file_makes_opening_fail_closed_and_leaves_every_file_as_it_was()
    {
        await CreateLogAsync(_dir.Path, _signer);
        await RewriteAndRechainAsync(OnlySegment, 15);
        var garbage = new byte[300];
        new Random(7).NextBytes(garbage);
        await File.WriteAllBytesAsync(CheckpointFile, garbage);
        var segmentBefore = await File.ReadAllBytesAsync(OnlySegment);

        // The next ordinary command opens the store to append: it must refuse instead of signing over the rewrite.
        var error = await Assert.ThrowsAsync<AuditStoreException>(async () => await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer)));
        Assert.Contains("damaged at offset 0 of checkpoints.log", error.Message);

        Assert.Equal(garbage, await File.ReadAllBytesAsync(CheckpointFile));
        Assert.Equal(segmentBefore, await File.ReadAllBytesAsync(OnlySegment));
        var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier);
        Assert.False(result.IsValid);
        Assert.Contains("checkpoint record at offset 0", result.Message);
    }

    [Fact]
    public async Task An_emptied_or_deleted_checkpoint_file_makes_opening_fail_closed()
    {
        await CreateLogAsync(_dir.Path, _signer);
        await File.WriteAllBytesAsync(CheckpointFile, []);
        var emptied = await Assert.ThrowsAsync<AuditStoreException>(async () => await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer)));
        Assert.Contains("30 entries but no signed checkpoint: its checkpoint file is empty", emptied.Message);
        Assert.Empty(await File.ReadAllBytesAsync(CheckpointFile));

        File.Delete(CheckpointFile);
        var deleted = await Assert.ThrowsAsync<AuditStoreException>(async () => await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer)));
        Assert.Contains("its checkpoint file is missing", deleted.Message);
    }

    [Fact]
    public async Task Damage_before_the_last_checkpoint_record_makes_opening_fail_instead_of_dropping_checkpoints()
    {
        await CreateLogAsync(_dir.Path, _signer);
        var bytes = await File.ReadAllBytesAsync(CheckpointFile);
        var ends = RecordEnds(bytes);
        bytes[(int)ends[0] + 20] ^= 0x20; // inside the second record; two more follow
        await File.WriteAllBytesAsync(CheckpointFile, bytes);

        await Assert.ThrowsAsync<AuditStoreException>(async () => await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer)));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(CheckpointFile));
    }

    [Fact]
    public async Task Entries_after_the_newest_checkpoint_are_accepted_on_open_as_a_crash_tail_and_signed_on_close()
    {
        // A crash after appending and before the next checkpoint leaves exactly this: entries that chain from the newest checkpoint.
        await CreateLogAsync(_dir.Path, _signer);
        await KeepCheckpointsUpToAsync(20);
        Assert.False((await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier)).IsValid);

        await using (var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer)))
        {
            Assert.Equal(30, store.Count);
        }

        var result = await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier);
        Assert.True(result.IsValid, result.Message);
        Assert.Equal(30, result.LatestCheckpoint!.TreeSize);
    }

    [Fact]
    public async Task A_store_that_crashed_before_its_first_checkpoint_still_opens()
    {
        await using (var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer)))
        {
            await TestLog.AppendManyAsync(store, 5);
        }

        // Take away what the close signed: what is left is the checkpoint of the empty log written when the store was created.
        await KeepCheckpointsUpToAsync(0);
        Assert.True(new FileInfo(CheckpointFile).Length > 0);
        await using (var store = await FileAuditStore.OpenAsync(TestLog.FileOptions(_dir.Path, _signer)))
        {
            Assert.Equal(5, store.Count);
        }

        Assert.True((await AuditVerifier.VerifyDirectoryAsync(_dir.Path, Verifier)).IsValid);
    }

    private static long SizeOf(byte[] bytes, long start, long end)
    {
        var note = System.Text.Encoding.UTF8.GetString(bytes, (int)start + RecordFraming.HeaderSize, (int)(end - start - RecordFraming.HeaderSize));
        return long.Parse(note.Split('\n')[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
