using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Bpi.Orchestration.Audit;

/// <summary>Opening and crash recovery of the file storage.</summary>
internal sealed partial class FileAuditStorage
{
    /// <summary>
    /// Opens (or creates) the store directory and recovers it. Every segment is read once: framing, CRC-32C,
    /// sequence numbers and the hash chain are checked and the Merkle tree and index are rebuilt. A damaged tail of the
    /// newest segment that is no longer than the batches that may await their fsync is a torn write (the process died
    /// between write and fsync, so nothing in it was acknowledged) and is truncated; any other damage is refused. Stored checkpoints must
    /// match the recovered tree: a checkpoint that covers more entries than were recovered means acknowledged entries
    /// are missing, and opening fails.
    /// </summary>
    public static (FileAuditStorage Storage, AuditHash LastHash, List<SignedCheckpoint> Checkpoints) Open(
        FileAuditStoreOptions options, MerkleTree tree, ILogger logger)
    {
        var directory = Path.GetFullPath(options.Path);
        Directory.CreateDirectory(directory);
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(directory, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new AuditStoreException($"The audit store at {directory} is already open in this or another process. Use one store instance per directory, and dispose it before opening the directory again.", ex);
        }

        SafeFileHandle? checkpointHandle = null;
        try
        {
            var ends = new AppendOnlyLongList();
            var lastHash = new byte[AuditHash.Size];
            var segments = new List<Segment>();
            var maxFrame = MaxFrameLength(options);
            // Only the batches that were written but not yet fsynced can be torn: at most MaxUnsyncedBatches of them,
            // each at most MaxBatchBytes plus the one entry that crossed the limit.
            var tornLimit = AuditLogEngine.MaxUnsyncedBatches * ((long)options.MaxBatchBytes + maxFrame);
            var listed = SegmentHeader.List(directory);
            for (var i = 0; i < listed.Count; i++)
            {
                var (first, path) = listed[i];
                var isLast = i == listed.Count - 1;
                if (first != ends.Count)
                {
                    throw Damaged(directory, path, 0, $"the segment starts at entry {first} but the segments before it end at entry {ends.Count} (a segment is missing, or an extra one was added)");
                }

                if (RecoverSegment(path, first, isLast, tree, ends, lastHash, maxFrame, tornLimit, directory, logger))
                {
                    segments.Add(new Segment(first, path) { CommittedLength = ends.Count > first ? ends[ends.Count - 1] : SegmentHeader.Size });
                }
            }

            var checkpointPath = Path.Combine(directory, CheckpointFileName);
            var checkpointFileExisted = File.Exists(checkpointPath);
            checkpointHandle = File.OpenHandle(checkpointPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            var checkpoints = RecoverCheckpoints(checkpointHandle, checkpointPath, directory, options, tree, out var checkpointLength, out var torn);
            CheckCheckpointCoverage(directory, options, tree, checkpoints, checkpointFileExisted, torn, logger);
            CheckWitnesses(directory, options, tree, checkpoints);

            // Every check passed: only now is a torn last checkpoint record (never acknowledged) cut off.
            if (torn is { } tornTail)
            {
                RandomAccess.SetLength(checkpointHandle, checkpointLength);
                RandomAccess.FlushToDisk(checkpointHandle);
                Log.TornTailTruncated(logger, checkpointPath, checkpointLength, tornTail.Bytes, tornTail.Problem);
            }

            var storage = new FileAuditStorage(directory, options, logger, lockFile, [.. segments], ends, checkpointHandle, checkpointLength);
            if (segments.Count == 0)
            {
                storage.StartSegmentAsync(0).AsTask().GetAwaiter().GetResult();
            }
            else
            {
                var last = segments[^1];
                var stream = new FileStream(last.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
                storage.OpenWriter(stream, last.CommittedLength);
            }

            Log.StoreOpened(logger, directory, ends.Count, storage.SegmentCount, checkpoints.Count);
            return (storage, new AuditHash(lastHash), checkpoints);
        }
        catch
        {
            checkpointHandle?.Dispose();
            lockFile.Dispose();
            throw;
        }
    }

    /// <summary>Recovers one segment; returns <see langword="false"/> when it was an empty, torn new segment and was removed.</summary>
    private static bool RecoverSegment(
        string path, long first, bool isLast, MerkleTree tree, AppendOnlyLongList ends, byte[] lastHash,
        int maxFrame, long tornLimit, string directory, ILogger logger)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        var length = RandomAccess.GetLength(handle);
        Span<byte> header = stackalloc byte[SegmentHeader.Size];
        var headerRead = length >= SegmentHeader.Size ? RandomAccess.Read(handle, header, 0) : 0;
        var headerProblem = headerRead < SegmentHeader.Size ? "the segment header is incomplete" : SegmentHeader.Validate(header, first);
        if (headerProblem is not null)
        {
            if (isLast && length <= SegmentHeader.Size)
            {
                // Created at rotation, then the process died before the header was durable: it never held an entry.
                handle.Dispose();
                File.Delete(path);
                DirectorySync.Flush(directory);
                Log.TornSegmentRemoved(logger, path);
                return false;
            }

            throw Damaged(directory, path, 0, headerProblem);
        }

        var reader = new SequentialFrameReader(handle, SegmentHeader.Size, length);
        Span<byte> leaf = stackalloc byte[AuditHash.Size];
        while (true)
        {
            var frameStart = reader.Position;
            var status = reader.TryNext(allowRefill: true, maxFrame - RecordFraming.HeaderSize, out var offset, out var frameLength);
            string? tornReason = null;
            switch (status)
            {
                case FrameStatus.End:
                    return true;
                case FrameStatus.Incomplete:
                    tornReason = "the last record is incomplete";
                    break;
                case FrameStatus.BadLength:
                    tornReason = "a record length is out of range";
                    break;
                case FrameStatus.Frame:
                    var frame = reader.Buffer.AsSpan(offset, frameLength);
                    if (!RecordFraming.CrcMatches(frame))
                    {
                        tornReason = "a record's CRC-32C does not match";
                        break;
                    }

                    var body = frame[RecordFraming.HeaderSize..];
                    if (AuditEntryEncoding.Validate(body) is { } problem)
                    {
                        throw Damaged(directory, path, frameStart, $"entry {ends.Count} passes its CRC but is malformed: {problem}");
                    }

                    var sequence = AuditEntryEncoding.ReadSequence(body);
                    if (sequence != ends.Count)
                    {
                        throw Damaged(directory, path, frameStart, $"the record holds entry {sequence} where entry {ends.Count} belongs (entries were reordered, inserted or removed)");
                    }

                    if (!AuditEntryEncoding.ReadPreviousHash(body).SequenceEqual(lastHash))
                    {
                        throw Damaged(directory, path, frameStart, $"entry {sequence} does not chain to the hash of entry {sequence - 1}");
                    }

                    RecordFraming.HashEntryInPlace(frame, leaf);
                    tree.AppendLeaf(leaf);
                    leaf.CopyTo(lastHash);
                    ends.Add(frameStart + frameLength);
                    continue;
            }

            var tail = length - frameStart;
            if (!isLast || tail > tornLimit)
            {
                throw Damaged(directory, path, frameStart, $"{tornReason} at entry {ends.Count}, and the damage ({tail} bytes to the end{(isLast ? "" : " of a segment that is not the newest")}) is not a torn write");
            }

            RandomAccess.SetLength(handle, frameStart);
            RandomAccess.FlushToDisk(handle);
            Log.TornTailTruncated(logger, path, frameStart, tail, tornReason!);
            return true;
        }
    }

    private static List<SignedCheckpoint> RecoverCheckpoints(
        SafeFileHandle handle, string path, string directory, FileAuditStoreOptions options, MerkleTree tree, out long validLength, out TornCheckpoint? torn)
    {
        torn = null;
        var checkpoints = new List<SignedCheckpoint>();
        var length = RandomAccess.GetLength(handle);
        var reader = new SequentialFrameReader(handle, 0, length, 64 * 1024);
        validLength = 0;
        while (true)
        {
            var frameStart = reader.Position;
            var status = reader.TryNext(allowRefill: true, MaxCheckpointFrame, out var offset, out var frameLength);
            if (status == FrameStatus.End)
            {
                break;
            }

            string? problem = status switch
            {
                FrameStatus.Incomplete => "the last checkpoint record is incomplete",
                FrameStatus.BadLength => "a checkpoint record length is out of range",
                _ => null,
            };
            SignedCheckpoint? checkpoint = null;
            if (problem is null)
            {
                var frame = reader.Buffer.AsSpan(offset, frameLength);
                if (!RecordFraming.CrcMatches(frame))
                {
                    problem = "a checkpoint record's CRC-32C does not match";
                }
                else
                {
                    checkpoint = SignedCheckpoint.Parse(Encoding.UTF8.GetString(frame[RecordFraming.HeaderSize..]), out var parseError);
                    if (checkpoint is null)
                    {
                        throw Damaged(directory, path, frameStart, $"a checkpoint passes its CRC but is malformed: {parseError}");
                    }
                }
            }

            if (problem is not null)
            {
                // Only the one record being written when the process died can be torn: the file ends inside it, or
                // it is the last record and fails its CRC, or the tail is zeros the file system never wrote. Anything
                // else is damage to checkpoints that were acknowledged, and dropping them would erase evidence.
                var tail = length - frameStart;
                var lastRecord = status == FrameStatus.Incomplete || (status == FrameStatus.Frame && frameStart + frameLength == length);
                if (tail > MaxTornCheckpointBytes || !(lastRecord || IsZeros(handle, frameStart, tail)))
                {
                    throw Damaged(directory, path, frameStart, $"{problem}, and it is not the torn last record ({tail} bytes to the end)");
                }

                torn = new TornCheckpoint(tail, problem, frameStart);
                break;
            }

            if (!string.Equals(checkpoint!.Origin, options.Origin, StringComparison.Ordinal))
            {
                throw new AuditStoreException($"The audit log at {directory} has checkpoints for origin '{checkpoint.Origin}', but the store is configured with origin '{options.Origin}'. A log keeps its origin for life: set Origin back, or start a new log in another directory.");
            }

            if (checkpoint.TreeSize > tree.LeafCount)
            {
                throw new AuditStoreException($"The audit log at {directory} holds {tree.LeafCount} entries, but its signed checkpoint covers {checkpoint.TreeSize}: acknowledged entries are missing (a segment was truncated or deleted). Restore the directory from a backup or an export; run AuditVerifier.VerifyDirectoryAsync for details.");
            }

            if (tree.Root(checkpoint.TreeSize) != checkpoint.RootHash)
            {
                throw new AuditStoreException($"The first {checkpoint.TreeSize} entries of the audit log at {directory} do not match the root hash of their signed checkpoint: the entries were altered. Restore the directory from a backup or an export; run AuditVerifier.VerifyDirectoryAsync for details.");
            }

            if (checkpoints.Count > 0 && checkpoint.TreeSize < checkpoints[^1].TreeSize)
            {
                throw Damaged(directory, path, frameStart, "checkpoints are out of order");
            }

            checkpoints.Add(checkpoint);
            validLength = frameStart + frameLength;
        }

        return checkpoints;
    }

    /// <summary>
    /// Fails closed when entries exist that no checkpoint anchors: with a checkpoint file that is missing, empty, or
    /// whose every record is damaged, the log cannot be told from one whose checkpoints were removed to hide a rewrite,
    /// and signing over it would erase that evidence. A new store signs a checkpoint of the empty log first, so a log
    /// with signers always has one. Entries after the newest checkpoint that chain to it are what a crash before the
    /// next checkpoint leaves: they are accepted (and signed with the next checkpoint).
    /// </summary>
    private static void CheckCheckpointCoverage(
        string directory, FileAuditStoreOptions options, MerkleTree tree, List<SignedCheckpoint> checkpoints, bool fileExisted, TornCheckpoint? torn, ILogger logger)
    {
        var entries = tree.LeafCount;
        if (checkpoints.Count == 0)
        {
            if (entries == 0 || (options.CheckpointSigners.Count == 0 && torn is null))
            {
                return;
            }

            var why = torn is { } t
                ? $"its checkpoint file is damaged from offset {t.Offset} ({t.Problem})"
                : fileExisted ? "its checkpoint file is empty" : "its checkpoint file is missing";
            throw new AuditStoreException($"The audit log at {directory} holds {entries} entries but no signed checkpoint: {why}. Checkpoints are never re-signed over such a log, because that would hide any entry rewritten meanwhile. Restore {CheckpointFileName} (or the whole directory) from a backup and run AuditVerifier.VerifyDirectoryAsync; if the log never had a checkpoint signer, open it without one, or move it aside and start a new log.");
        }

        var covered = checkpoints[^1].TreeSize;
        if (covered < entries)
        {
            Log.UncheckpointedTail(logger, directory, entries - covered, covered);
        }
    }

    /// <summary>
    /// Fails closed when a witness holds a checkpoint the log contradicts: one covering more entries than the log has
    /// (rolled back or truncated), one whose root the entries do not reproduce (rewritten), or one newer than the log's
    /// own newest checkpoint (checkpoints were removed; the store writes its file before it publishes).
    /// </summary>
    private static void CheckWitnesses(string directory, FileAuditStoreOptions options, MerkleTree tree, List<SignedCheckpoint> checkpoints)
    {
        foreach (var witness in options.Witnesses)
        {
            var held = witness.GetLatestAsync(options.Origin).AsTask().GetAwaiter().GetResult();
            if (held is null)
            {
                continue;
            }

            var what = $"the witness {witness.Description} holds a signed checkpoint at tree size {held.TreeSize}";
            if (held.TreeSize > tree.LeafCount)
            {
                throw new AuditStoreException($"The audit log at {directory} holds {tree.LeafCount} entries, but {what}: the log was rolled back or truncated. Restore the directory from a backup and run AuditVerifier.VerifyDirectoryAsync with the witness.");
            }

            if (tree.Root(held.TreeSize) != held.RootHash)
            {
                throw new AuditStoreException($"The first {held.TreeSize} entries of the audit log at {directory} do not reproduce the root of the checkpoint {what[4..]}: entries were rewritten. Restore the directory from a backup and run AuditVerifier.VerifyDirectoryAsync with the witness.");
            }

            var newest = checkpoints.Count > 0 ? checkpoints[^1].TreeSize : -1;
            if (held.TreeSize > newest)
            {
                throw new AuditStoreException($"The checkpoint file of the audit log at {directory} ends at tree size {(newest < 0 ? "(none)" : newest)}, but {what}: checkpoints were removed or damaged. Restore {CheckpointFileName} from a backup and run AuditVerifier.VerifyDirectoryAsync with the witness.");
            }
        }
    }

    private static bool IsZeros(SafeFileHandle handle, long offset, long count)
    {
        var buffer = new byte[count];
        return RandomAccess.Read(handle, buffer, offset) == count && !buffer.AsSpan().ContainsAnyExcept((byte)0);
    }

    /// <summary>A damaged last checkpoint record: how many bytes from where, and why.</summary>
    private readonly record struct TornCheckpoint(long Bytes, string Problem, long Offset);

    private static AuditStoreException Damaged(string directory, string file, long offset, string reason) =>
        new($"The audit log at {directory} is damaged at offset {offset} of {Path.GetFileName(file)}: {reason}. This is not a torn write the store may repair, so it refuses to open. Run AuditVerifier.VerifyDirectoryAsync for a full report, and restore the directory from a backup or an export.");
}
