using System.Globalization;
using System.Text;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// Verifies audit logs: a store directory or a live store in full (CRC-32C of every record, canonical encoding,
/// sequence numbers, the hash chain, and the Merkle root against every signed checkpoint), a live store incrementally
/// from a trusted checkpoint (consistency proof plus only the new entries), and an export file offline with nothing but
/// the log's public key. Reports the first bad entry and why; detects any changed byte, truncation, reordering,
/// insertion or deletion that checkpoints cover.
/// </summary>
public static class AuditVerifier
{
    /// <summary>
    /// Verifies a closed store directory in full. Checkpoints are checked against the entries; with
    /// <paramref name="checkpointVerifier"/> their signatures are checked too. A store that is open in another process
    /// may show an incomplete last record: verify a live store with <see cref="VerifyAsync"/> instead.
    /// </summary>
    /// <param name="directory">The store directory.</param>
    /// <param name="checkpointVerifier">The trusted public keys; without it, signatures are not checked.</param>
    /// <param name="cancellationToken">Cancels the verification.</param>
    /// <returns>The result, with the first bad entry and why on failure.</returns>
    public static Task<AuditVerificationResult> VerifyDirectoryAsync(string directory, CheckpointVerifier? checkpointVerifier = null, CancellationToken cancellationToken = default) =>
        VerifyDirectoryAsync(directory, checkpointVerifier, [], cancellationToken);

    /// <summary>
    /// Verifies a closed store directory in full (see <see cref="VerifyDirectoryAsync(string, CheckpointVerifier?, CancellationToken)"/>)
    /// and against the newest checkpoint each witness holds: the entries must reproduce its root (a rewrite fails even
    /// when it was re-signed with the log's key), the log must reach its tree size (a rollback fails), and the log's
    /// own checkpoints must reach it too (removed checkpoints fail).
    /// </summary>
    /// <param name="directory">The store directory.</param>
    /// <param name="checkpointVerifier">The trusted public keys; without it, signatures are not checked.</param>
    /// <param name="witnesses">The witnesses the store publishes to (see <see cref="AuditStoreOptions.Witnesses"/>).</param>
    /// <param name="cancellationToken">Cancels the verification.</param>
    /// <returns>The result, with the first bad entry and why on failure.</returns>
    public static Task<AuditVerificationResult> VerifyDirectoryAsync(string directory, CheckpointVerifier? checkpointVerifier, IReadOnlyList<IAuditCheckpointWitness> witnesses, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(witnesses);
        return Task.Run(() => VerifyDirectory(directory, checkpointVerifier, witnesses, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Verifies every committed entry of a live store, read back from its files, against its checkpoints and against
    /// the tree the store serves proofs from.
    /// </summary>
    /// <param name="store">A <see cref="FileAuditStore"/>, <see cref="InMemoryAuditStore"/> or the PostgreSql package's shared store (refreshed first, so entries other instances appended are verified too).</param>
    /// <param name="checkpointVerifier">The trusted public keys; without it, signatures are not checked.</param>
    /// <param name="cancellationToken">Cancels the verification.</param>
    /// <returns>The result.</returns>
    public static async Task<AuditVerificationResult> VerifyAsync(IAuditStore store, CheckpointVerifier? checkpointVerifier = null, CancellationToken cancellationToken = default)
    {
        var engine = await CurrentEngineOfAsync(store, cancellationToken).ConfigureAwait(false);
        var committed = engine.Count;
        var expectations = new List<Expectation>();
        var signaturesChecked = checkpointVerifier is not null;
        foreach (var checkpoint in engine.Checkpoints)
        {
            if (!CheckCheckpoint(checkpoint.NoteText, checkpointVerifier, out var verified, out var error))
            {
                return Failed(AuditVerificationFailure.InvalidCheckpoint, $"The checkpoint at tree size {checkpoint.TreeSize} is invalid: {error}", signaturesChecked);
            }

            expectations.Add(new Expectation(verified.TreeSize, verified.RootHash, $"the signed checkpoint at tree size {verified.TreeSize}", verified));
        }

        expectations.Add(new Expectation(committed, engine.Tree.Root(committed), "the store's own Merkle tree", null));
        var chain = new ChainVerifier(new CompactRange(0), AuditHash.Zero, expectations) { SignaturesChecked = signaturesChecked };
        await FeedBlocksAsync(chain, engine.Storage.ReadFramesAsync(0, committed, cancellationToken), cancellationToken).ConfigureAwait(false);
        return chain.Complete("The store verifies");
    }

    /// <summary>
    /// Verifies a live store from a checkpoint the caller already trusts: checks the store's newest signed checkpoint,
    /// the consistency proof from the trusted one to it, and then only the entries added since (CRC, encoding, sequence,
    /// chain, and the recomputed root), anchored to the trusted root by the compact range and an inclusion proof.
    /// </summary>
    /// <param name="store">A <see cref="FileAuditStore"/>, <see cref="InMemoryAuditStore"/> or the PostgreSql package's shared store (refreshed first, so entries other instances appended are verified too).</param>
    /// <param name="trustedCheckpoint">A checkpoint verified earlier (for example the one of the last audit).</param>
    /// <param name="checkpointVerifier">The trusted public keys.</param>
    /// <param name="cancellationToken">Cancels the verification.</param>
    /// <returns>The result; <see cref="AuditVerificationResult.EntriesVerified"/> counts the new entries.</returns>
    public static async Task<AuditVerificationResult> VerifyIncrementalAsync(IAuditStore store, SignedCheckpoint trustedCheckpoint, CheckpointVerifier checkpointVerifier, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(trustedCheckpoint);
        ArgumentNullException.ThrowIfNull(checkpointVerifier);
        var engine = await CurrentEngineOfAsync(store, cancellationToken).ConfigureAwait(false);
        if (!checkpointVerifier.TryVerify(trustedCheckpoint.NoteText, out var trusted, out var trustedError))
        {
            return Failed(AuditVerificationFailure.InvalidCheckpoint, "The trusted checkpoint does not verify: " + trustedError, true);
        }

        var latestNote = engine.HasSigners
            ? await store.CreateCheckpointAsync(cancellationToken).ConfigureAwait(false)
            : store.LatestCheckpoint;
        if (latestNote is null)
        {
            return Failed(AuditVerificationFailure.InvalidCheckpoint, "The store has no signed checkpoint to verify against; configure a checkpoint signer.", true);
        }

        if (!checkpointVerifier.TryVerify(latestNote.NoteText, out var latest, out var latestError))
        {
            return Failed(AuditVerificationFailure.InvalidCheckpoint, "The store's newest checkpoint does not verify: " + latestError, true);
        }

        var m = trusted.TreeSize;
        var n = latest.TreeSize;
        if (n < m || !string.Equals(trusted.Origin, latest.Origin, StringComparison.Ordinal))
        {
            return Failed(AuditVerificationFailure.InconsistentCheckpoints, $"The store's newest checkpoint ({latest.Origin}, {n} entries) does not extend the trusted one ({trusted.Origin}, {m} entries): the log was truncated or replaced.", true);
        }

        if (m > 0)
        {
            var proof = store.GetConsistencyProof(m, n);
            if (proof.Explain(trusted.RootHash, latest.RootHash) is { } proofError)
            {
                return Failed(AuditVerificationFailure.InconsistentCheckpoints, $"The log of {n} entries is not an extension of the trusted log of {m} entries: {proofError}", true);
            }
        }

        var prefix = new CompactRange(0);
        engine.Tree.CompactRangeOf(m, prefix);
        if (prefix.RootOfPrefix() != trusted.RootHash)
        {
            return Failed(AuditVerificationFailure.RootMismatch, $"The store's first {m} entries do not hash to the trusted root.", true);
        }

        var previous = AuditHash.Zero;
        if (m > 0)
        {
            previous = engine.Tree.LeafHash(m - 1);
            if (!store.GetInclusionProof(m - 1, m).Verify(previous, trusted.RootHash))
            {
                return Failed(AuditVerificationFailure.RootMismatch, $"The hash of entry {m - 1} is not in the trusted tree.", true);
            }
        }

        var chain = new ChainVerifier(prefix, previous, [new Expectation(n, latest.RootHash, $"the signed checkpoint at tree size {n}", latest)]) { SignaturesChecked = true };
        await FeedBlocksAsync(chain, engine.Storage.ReadFramesAsync(m, n, cancellationToken), cancellationToken).ConfigureAwait(false);
        return chain.Complete(string.Create(CultureInfo.InvariantCulture, $"The store verifies from the trusted checkpoint at {m} to {n}"));
    }

    /// <summary>
    /// Verifies an export file (see <see cref="AuditExport"/>) offline: its checkpoint's signature with the trusted
    /// keys, then every entry (CRC, encoding, sequence, chain) and the recomputed root against the checkpoint.
    /// </summary>
    /// <param name="path">The export file.</param>
    /// <param name="checkpointVerifier">The log's trusted public keys.</param>
    /// <param name="cancellationToken">Cancels the verification.</param>
    /// <returns>The result.</returns>
    public static async Task<AuditVerificationResult> VerifyExportAsync(string path, CheckpointVerifier checkpointVerifier, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        await using (stream.ConfigureAwait(false))
        {
            return await VerifyExportAsync(stream, checkpointVerifier, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Verifies an export read from <paramref name="export"/> (see <see cref="VerifyExportAsync(string, CheckpointVerifier, CancellationToken)"/>).</summary>
    /// <param name="export">The export, read from its current position to its end.</param>
    /// <param name="checkpointVerifier">The log's trusted public keys.</param>
    /// <param name="cancellationToken">Cancels the verification.</param>
    /// <returns>The result.</returns>
    public static Task<AuditVerificationResult> VerifyExportAsync(Stream export, CheckpointVerifier checkpointVerifier, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(export);
        ArgumentNullException.ThrowIfNull(checkpointVerifier);
        return Task.Run(() => AuditExport.Verify(export, checkpointVerifier, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Verifies a log given as its signed checkpoints and its sealed frames from entry 0 — what an
    /// <see cref="AuditStorage"/> holds, read back from a backup of a log kept outside a directory (the PostgreSql
    /// package's audit part) — with the same checks as <see cref="VerifyAsync"/>: every checkpoint (and its signature
    /// with <paramref name="checkpointVerifier"/>), CRC, canonical encoding, sequence, hash chain and the Merkle root of
    /// every checkpoint; then that the log ends at <paramref name="head"/> (its size and its last entry's hash).
    /// </summary>
    /// <param name="checkpointNotes">The signed checkpoints as notes, in any order.</param>
    /// <param name="frames">The frames from entry 0, in order (streamed: a block at a time).</param>
    /// <param name="head">The log's head as stored with it.</param>
    /// <param name="checkpointVerifier">The trusted public keys; without it, signatures are not checked.</param>
    /// <param name="cancellationToken">Cancels the verification.</param>
    /// <returns>The result, with the first bad entry and why on failure.</returns>
    public static async Task<AuditVerificationResult> VerifyFramesAsync(IEnumerable<string> checkpointNotes, IAsyncEnumerable<AuditFrameBlock> frames, AuditLogHead head, CheckpointVerifier? checkpointVerifier = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpointNotes);
        ArgumentNullException.ThrowIfNull(frames);
        var signaturesChecked = checkpointVerifier is not null;
        var expectations = new List<Expectation>();
        foreach (var note in checkpointNotes)
        {
            if (!CheckCheckpoint(note, checkpointVerifier, out var checkpoint, out var error))
            {
                return Failed(AuditVerificationFailure.InvalidCheckpoint, $"A checkpoint is invalid: {error}", signaturesChecked);
            }

            if (checkpoint.TreeSize > head.Size)
            {
                return Failed(AuditVerificationFailure.MissingEntries, string.Create(CultureInfo.InvariantCulture, $"The signed checkpoint at tree size {checkpoint.TreeSize} covers more entries than the log's {head.Size}: the log was truncated or entries were deleted."), signaturesChecked);
            }

            expectations.Add(new Expectation(checkpoint.TreeSize, checkpoint.RootHash, $"the signed checkpoint at tree size {checkpoint.TreeSize}", checkpoint));
        }

        var chain = new ChainVerifier(new CompactRange(0), AuditHash.Zero, expectations) { SignaturesChecked = signaturesChecked };
        await FeedBlocksAsync(chain, frames, cancellationToken).ConfigureAwait(false);
        var result = chain.Complete("The audit log verifies");
        if (!result.IsValid)
        {
            return result;
        }

        if (chain.Next != head.Size || (head.Size > 0 && chain.LastHash != head.LastEntryHash))
        {
            return Failed(AuditVerificationFailure.MissingEntries, string.Create(CultureInfo.InvariantCulture, $"The log's head says {head.Size} entries ending in hash {head.LastEntryHash}, but the entries are {chain.Next} ending in hash {chain.LastHash}: entries were added, removed or changed after the head was written."), signaturesChecked);
        }

        return result;
    }

    internal static AuditLogEngine EngineOf(IAuditStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store is IAuditEngineOwner owner
            ? owner.Engine
            : throw new ArgumentException("Only the stores of the Audit and PostgreSql packages can be verified this way; verify other logs through their exports.", nameof(store));
    }

    /// <summary>The store's engine, refreshed first when its storage is shared, so the result covers what other instances appended.</summary>
    internal static async ValueTask<AuditLogEngine> CurrentEngineOfAsync(IAuditStore store, CancellationToken cancellationToken)
    {
        var engine = EngineOf(store);
        if (engine.Storage.IsShared)
        {
            await engine.RefreshAsync(cancellationToken).ConfigureAwait(false);
        }

        return engine;
    }

    internal static AuditVerificationResult Failed(AuditVerificationFailure failure, string message, bool signaturesChecked, string? file = null, long? offset = null) =>
        new(failure, message, 0, null, file, offset, default, 0, null, signaturesChecked);

    internal static bool CheckCheckpoint(string note, CheckpointVerifier? verifier, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SignedCheckpoint? checkpoint, out string? error)
    {
        if (verifier is not null)
        {
            return verifier.TryVerify(note, out checkpoint, out error);
        }

        checkpoint = SignedCheckpoint.Parse(note, out error);
        return checkpoint is not null;
    }

    /// <summary>Feeds frames from <paramref name="reader"/> to <paramref name="chain"/>, at most <paramref name="limit"/> of them.</summary>
    internal static bool FeedFrames(ChainVerifier chain, SequentialFrameReader reader, string? file, long limit, CancellationToken cancellationToken)
    {
        const int Batch = 16_384;
        var offsets = new int[Batch];
        var lengths = new int[Batch];
        var count = 0;
        long fed = 0;
        while (fed + count < limit)
        {
            var status = reader.TryNext(allowRefill: count == 0, RecordFraming.MaxBodyLength, out var offset, out var length);
            switch (status)
            {
                case FrameStatus.Frame:
                    offsets[count] = offset;
                    lengths[count] = length;
                    count++;
                    if (count == Batch)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        if (!chain.Process(reader.Buffer, offsets, lengths, count, file, reader.BufferOffset))
                        {
                            return false;
                        }

                        fed += count;
                        count = 0;
                    }

                    continue;
                case FrameStatus.NeedsRefill:
                    cancellationToken.ThrowIfCancellationRequested();
                    if (!chain.Process(reader.Buffer, offsets, lengths, count, file, reader.BufferOffset))
                    {
                        return false;
                    }

                    fed += count;
                    count = 0;
                    continue;
                case FrameStatus.End:
                    return chain.Process(reader.Buffer, offsets, lengths, count, file, reader.BufferOffset);
                default:
                    var position = reader.Position;
                    if (!chain.Process(reader.Buffer, offsets, lengths, count, file, reader.BufferOffset))
                    {
                        return false;
                    }

                    return chain.Fail(AuditVerificationFailure.CorruptRecord, chain.Next, file, position,
                        status == FrameStatus.BadLength
                            ? $"the record of entry {chain.Next} has an impossible length: its length field changed"
                            : $"the file ends inside the record of entry {chain.Next}: it was cut (or the store was not closed cleanly; opening it repairs a torn tail)");
            }
        }

        return chain.Process(reader.Buffer, offsets, lengths, count, file, reader.BufferOffset);
    }

    private static async Task FeedBlocksAsync(ChainVerifier chain, IAsyncEnumerable<AuditFrameBlock> blocks, CancellationToken cancellationToken)
    {
        var offsets = Array.Empty<int>();
        var lengths = Array.Empty<int>();
        await foreach (var block in blocks.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (offsets.Length < block.Count)
            {
                offsets = new int[block.Count];
                lengths = new int[block.Count];
            }

            var position = 0;
            for (var i = 0; i < block.Count; i++)
            {
                var length = RecordFraming.HeaderSize + (int)RecordFraming.ReadLength(block.Buffer.AsSpan(position));
                if (length < RecordFraming.HeaderSize || position + length > block.Length)
                {
                    chain.Process(block.Buffer, offsets, lengths, i, block.File, block.FileOffset);
                    chain.Fail(AuditVerificationFailure.CorruptRecord, block.FirstSequence + i, block.File, block.FileOffset + position, $"the record of entry {block.FirstSequence + i} has a length that does not fit the index: it changed on disk");
                    return;
                }

                offsets[i] = position;
                lengths[i] = length;
                position += length;
            }

            if (!chain.Process(block.Buffer, offsets, lengths, block.Count, block.File, block.FileOffset))
            {
                return;
            }
        }
    }

    private static AuditVerificationResult VerifyDirectory(string directory, CheckpointVerifier? verifier, IReadOnlyList<IAuditCheckpointWitness> witnesses, CancellationToken cancellationToken)
    {
        var signaturesChecked = verifier is not null;
        if (!Directory.Exists(directory))
        {
            return Failed(AuditVerificationFailure.DamagedFile, $"The directory {directory} does not exist.", signaturesChecked);
        }

        var expectations = new List<Expectation>();
        SignedCheckpoint? newest = null;
        var checkpointPath = Path.Combine(directory, FileAuditStorage.CheckpointFileName);
        if (File.Exists(checkpointPath))
        {
            using var handle = File.OpenHandle(checkpointPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var reader = new SequentialFrameReader(handle, 0, RandomAccess.GetLength(handle), 64 * 1024);
            long previousSize = 0;
            while (true)
            {
                var position = reader.Position;
                var status = reader.TryNext(allowRefill: true, 1_000_000, out var offset, out var length);
                if (status == FrameStatus.End)
                {
                    break;
                }

                if (status != FrameStatus.Frame || !RecordFraming.CrcMatches(reader.Buffer.AsSpan(offset, length)))
                {
                    return Failed(AuditVerificationFailure.InvalidCheckpoint, $"The checkpoint record at offset {position} of {FileAuditStorage.CheckpointFileName} is damaged (its framing or CRC-32C is wrong).", signaturesChecked, checkpointPath, position);
                }

                var note = Encoding.UTF8.GetString(reader.Buffer, offset + RecordFraming.HeaderSize, length - RecordFraming.HeaderSize);
                if (!CheckCheckpoint(note, verifier, out var checkpoint, out var error))
                {
                    return Failed(AuditVerificationFailure.InvalidCheckpoint, $"The checkpoint at offset {position} of {FileAuditStorage.CheckpointFileName} is invalid: {error}", signaturesChecked, checkpointPath, position);
                }

                if (checkpoint.TreeSize < previousSize)
                {
                    return Failed(AuditVerificationFailure.InconsistentCheckpoints, $"The checkpoint at offset {position} covers {checkpoint.TreeSize} entries, fewer than the one before it ({previousSize}): checkpoints were reordered or the log was rolled back.", signaturesChecked, checkpointPath, position);
                }

                previousSize = checkpoint.TreeSize;
                newest = checkpoint;
                expectations.Add(new Expectation(checkpoint.TreeSize, checkpoint.RootHash, $"the signed checkpoint at tree size {checkpoint.TreeSize}", checkpoint));
            }
        }

        var witnessed = new List<(IAuditCheckpointWitness Witness, SignedCheckpoint Checkpoint)>();
        if (witnesses.Count > 0)
        {
            var origin = newest?.Origin ?? verifier?.ExpectedOrigin;
            if (origin is null)
            {
                return Failed(AuditVerificationFailure.WitnessMismatch, "The log has no checkpoint to tell its origin by, so the witness cannot be asked: give a CheckpointVerifier with the expected origin.", signaturesChecked);
            }

            foreach (var witness in witnesses)
            {
                SignedCheckpoint? held;
                try
                {
                    held = witness.GetLatestAsync(origin, cancellationToken).AsTask().GetAwaiter().GetResult();
                }
                catch (AuditStoreException ex)
                {
                    return Failed(AuditVerificationFailure.WitnessMismatch, ex.Message, signaturesChecked);
                }

                if (held is null)
                {
                    continue;
                }

                if (verifier is not null && !verifier.TryVerify(held.NoteText, out _, out var witnessError))
                {
                    return Failed(AuditVerificationFailure.WitnessMismatch, $"The checkpoint the witness {witness.Description} holds at tree size {held.TreeSize} does not verify: {witnessError}.", signaturesChecked);
                }

                witnessed.Add((witness, held));
                expectations.Add(new Expectation(held.TreeSize, held.RootHash, $"the checkpoint the witness {witness.Description} holds at tree size {held.TreeSize}", null));
            }
        }

        var result = VerifySegments(directory, expectations, signaturesChecked, cancellationToken);
        if (!result.IsValid)
        {
            return result;
        }

        var covered = newest?.TreeSize ?? -1;
        foreach (var (witness, held) in witnessed)
        {
            if (held.TreeSize > covered)
            {
                return Derived(result, AuditVerificationFailure.WitnessMismatch, covered, checkpointPath,
                    $"The witness {witness.Description} holds a checkpoint at tree size {held.TreeSize}, but {FileAuditStorage.CheckpointFileName} {(newest is null ? "holds none" : $"ends at tree size {covered}")}: checkpoints were removed. Treat the entries after tree size {Math.Max(covered, 0)} as unverified: restore the checkpoint file from a backup and investigate.");
            }
        }

        if (result.EntriesVerified > 0 && covered < result.EntriesVerified)
        {
            var uncovered = result.EntriesVerified - Math.Max(covered, 0);
            return Derived(result, AuditVerificationFailure.UncheckpointedEntries, Math.Max(covered, 0), checkpointPath,
                newest is null
                    ? $"The log holds {result.EntriesVerified} entries but no signed checkpoint ({FileAuditStorage.CheckpointFileName} is missing or empty): nothing vouches for any entry. Restore the checkpoint file from a backup; a log whose checkpoints were removed cannot be told from one rewritten."
                    : $"{uncovered} entries (from entry {covered}) are not yet covered by a signed checkpoint: checkpoints were removed, or the store stopped before signing them. Open the store once (it signs them) only if you trust the entries; otherwise restore the checkpoint file from a backup.");
        }

        if (witnessed.Count == 0)
        {
            return result;
        }

        var matched = string.Join(", ", witnessed.Select(w => string.Create(CultureInfo.InvariantCulture, $"{w.Witness.Description} at tree size {w.Checkpoint.TreeSize}")));
        return new AuditVerificationResult(AuditVerificationFailure.None, $"{result.Message[..^1]}; the log agrees with the witness checkpoint(s) {matched}.", result.EntriesVerified, null, null, null, result.RootHash, result.CheckpointsVerified, result.LatestCheckpoint, signaturesChecked);
    }

    private static AuditVerificationResult Derived(AuditVerificationResult result, AuditVerificationFailure failure, long firstBad, string file, string message) =>
        new(failure, message, result.EntriesVerified, firstBad, file, null, result.RootHash, result.CheckpointsVerified, result.LatestCheckpoint, result.SignaturesChecked);

    private static AuditVerificationResult VerifySegments(string directory, List<Expectation> expectations, bool signaturesChecked, CancellationToken cancellationToken)
    {
        var chain = new ChainVerifier(new CompactRange(0), AuditHash.Zero, expectations) { SignaturesChecked = signaturesChecked };
        Span<byte> header = stackalloc byte[SegmentHeader.Size];
        foreach (var (first, path) in SegmentHeader.List(directory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (first != chain.Next)
            {
                chain.Fail(AuditVerificationFailure.SequenceMismatch, chain.Next, path, 0,
                    $"the segment {Path.GetFileName(path)} starts at entry {first}, but the entries before it end at {chain.Next}: a segment is missing or was added");
                break;
            }

            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var length = RandomAccess.GetLength(handle);
            var read = length >= SegmentHeader.Size ? RandomAccess.Read(handle, header, 0) : 0;
            var problem = read < SegmentHeader.Size ? "the segment header is incomplete" : SegmentHeader.Validate(header, first);
            if (problem is not null)
            {
                chain.Fail(AuditVerificationFailure.DamagedFile, chain.Next, path, 0, problem);
                break;
            }

            var reader = new SequentialFrameReader(handle, SegmentHeader.Size, length);
            if (!FeedFrames(chain, reader, path, long.MaxValue, cancellationToken))
            {
                break;
            }
        }

        return chain.Complete($"The audit log in {directory} verifies");
    }
}
