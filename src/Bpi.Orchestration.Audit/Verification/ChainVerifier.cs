using System.Globalization;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// The core of every verification. Consumes framed entries in order and checks, for each, the CRC-32C, the canonical
/// structure, the sequence number and the previous-hash link, while recomputing the Merkle root; the tree root is
/// compared with every expected (checkpoint) root as soon as the entries reach its size. Blocks of frames are split
/// into chunks hashed in parallel (each chunk builds its own compact range), then merged in order in O(log n) hashes per
/// chunk. No allocation per entry.
/// </summary>
internal sealed class ChainVerifier
{
    private const int MinChunk = 256;
    private readonly CompactRange _range;
    private readonly byte[] _lastHash = new byte[AuditHash.Size];
    private readonly List<Expectation> _expectations;
    private readonly int _parallelism = Math.Max(1, Environment.ProcessorCount);
    private CompactRange[] _chunkRanges = [];
    private byte[] _leaves = [];
    private int _nextExpectation;
    private int _checkpointsVerified;
    private SignedCheckpoint? _latestVerified;

    public ChainVerifier(CompactRange prefix, AuditHash previousHash, IEnumerable<Expectation> expectations)
    {
        _range = prefix;
        previousHash.CopyTo(_lastHash);
        _expectations = [.. expectations.OrderBy(e => e.TreeSize)];
        StartSequence = prefix.End;
        while (_nextExpectation < _expectations.Count && _expectations[_nextExpectation].TreeSize < StartSequence)
        {
            _nextExpectation++;
        }
    }

    public long StartSequence { get; }

    public long Next => _range.End;

    /// <summary>The hash of the last entry processed (zero before the first).</summary>
    public AuditHash LastHash => new(_lastHash);

    public AuditVerificationResult? Failure { get; private set; }

    public bool SignaturesChecked { get; init; }

    /// <summary>Checks <paramref name="count"/> frames at the given buffer offsets. Returns false once a failure is recorded.</summary>
    public bool Process(byte[] buffer, int[] offsets, int[] lengths, int count, string? file, long bufferFileOffset)
    {
        if (Failure is not null)
        {
            return false;
        }

        // Expectations at the current size first (a checkpoint of the empty log is due before the first entry).
        if (!CheckExpectations() || count == 0)
        {
            return Failure is null;
        }

        var first = Next;
        var boundaries = ChunkBoundaries(first, count);
        var chunks = boundaries.Count - 1;
        if (_chunkRanges.Length < chunks)
        {
            var grown = new CompactRange[chunks];
            _chunkRanges.CopyTo(grown, 0);
            for (var i = _chunkRanges.Length; i < chunks; i++)
            {
                grown[i] = new CompactRange(0);
            }

            _chunkRanges = grown;
        }

        if (_leaves.Length < count * AuditHash.Size)
        {
            _leaves = new byte[Math.Max(count, 4096) * AuditHash.Size];
        }

        var failures = new ChunkFailure[chunks];
        var ranges = _chunkRanges;
        var leaves = _leaves;
        if (chunks == 1)
        {
            failures[0] = VerifyChunk(buffer, offsets, lengths, boundaries[0], boundaries[1], first, ranges[0], leaves);
        }
        else
        {
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = _parallelism }, c =>
                failures[c] = VerifyChunk(buffer, offsets, lengths, boundaries[c], boundaries[c + 1], first, ranges[c], leaves));
        }

        for (var c = 0; c < chunks; c++)
        {
            var start = boundaries[c];
            var end = boundaries[c + 1];
            var failure = failures[c];
            if (failure.Index != start)
            {
                var body = buffer.AsSpan(offsets[start] + RecordFraming.HeaderSize);
                if (!AuditEntryEncoding.ReadPreviousHash(body).SequenceEqual(_lastHash))
                {
                    return Fail(AuditVerificationFailure.BrokenChain, first + start, file, bufferFileOffset + offsets[start],
                        $"entry {first + start} does not chain to the hash of entry {first + start - 1}: an entry before it was changed, removed or inserted");
                }
            }

            if (failure.Index >= 0)
            {
                return Fail(failure.Kind, first + failure.Index, file, bufferFileOffset + offsets[failure.Index], failure.Message!);
            }

            _range.Append(ranges[c]);
            leaves.AsSpan((end - 1) * AuditHash.Size, AuditHash.Size).CopyTo(_lastHash);
            if (!CheckExpectations())
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Records a failure found outside the frames (framing, headers, files).</summary>
    public bool Fail(AuditVerificationFailure kind, long? sequence, string? file, long? offset, string message)
    {
        var where = file is null ? "" : string.Create(CultureInfo.InvariantCulture, $" (at offset {offset} of {Path.GetFileName(file)})");
        Failure ??= new AuditVerificationResult(
            kind,
            $"{char.ToUpperInvariant(message[0])}{message[1..]}{where}. Treat the log as tampered or damaged from this point: restore it from a backup or an export and investigate.",
            Math.Max(0, (sequence ?? Next) - StartSequence),
            sequence,
            file,
            offset,
            _range.Begin == 0 ? _range.RootOfPrefix() : default,
            _checkpointsVerified,
            _latestVerified,
            SignaturesChecked);
        return false;
    }

    /// <summary>Finishes: every expected tree size must have been reached.</summary>
    public AuditVerificationResult Complete(string what)
    {
        if (Failure is not null)
        {
            return Failure;
        }

        if (!CheckExpectations())
        {
            return Failure!;
        }

        if (_nextExpectation < _expectations.Count)
        {
            var missing = _expectations[^1];
            Fail(AuditVerificationFailure.MissingEntries, Next, null, null,
                $"{missing.Description} covers {missing.TreeSize} entries but only {Next} are present: the log was truncated or entries were deleted");
            return Failure!;
        }

        var root = _range.RootOfPrefix();
        return new AuditVerificationResult(
            AuditVerificationFailure.None,
            string.Create(CultureInfo.InvariantCulture, $"{what}: {Next - StartSequence} entries verified (CRC, canonical encoding, sequence and hash chain), tree size {Next}, root {root}, {_checkpointsVerified} checkpoint(s) matched{(SignaturesChecked ? " with valid signatures" : " (signatures not checked: no verifier keys given)")}."),
            Next - StartSequence,
            null,
            null,
            null,
            root,
            _checkpointsVerified,
            _latestVerified,
            SignaturesChecked);
    }

    private bool CheckExpectations()
    {
        while (_nextExpectation < _expectations.Count && _expectations[_nextExpectation].TreeSize == Next)
        {
            var expectation = _expectations[_nextExpectation];
            var root = _range.RootOfPrefix();
            if (root != expectation.RootHash)
            {
                return Fail(AuditVerificationFailure.RootMismatch, null, null, null,
                    $"the first {expectation.TreeSize} entries hash to root {root}, but {expectation.Description} says {expectation.RootHash}: entries were altered");
            }

            _nextExpectation++;
            if (expectation.Checkpoint is not null)
            {
                _checkpointsVerified++;
                _latestVerified = expectation.Checkpoint;
            }
        }

        return true;
    }

    private List<int> ChunkBoundaries(long first, int count)
    {
        var boundaries = new List<int> { 0 };
        var chunkCount = Math.Max(1, Math.Min(_parallelism * 2, count / MinChunk));
        for (var i = 1; i < chunkCount; i++)
        {
            boundaries.Add((int)((long)count * i / chunkCount));
        }

        for (var e = _nextExpectation; e < _expectations.Count; e++)
        {
            var at = _expectations[e].TreeSize - first;
            if (at > 0 && at < count)
            {
                boundaries.Add((int)at);
            }
            else if (at >= count)
            {
                break;
            }
        }

        boundaries.Add(count);
        boundaries.Sort();
        for (var i = boundaries.Count - 1; i > 0; i--)
        {
            if (boundaries[i] == boundaries[i - 1])
            {
                boundaries.RemoveAt(i);
            }
        }

        return boundaries;
    }

    private static ChunkFailure VerifyChunk(byte[] buffer, int[] offsets, int[] lengths, int start, int end, long first, CompactRange range, byte[] leaves)
    {
        range.Reset(first + start);
        for (var i = start; i < end; i++)
        {
            var frame = buffer.AsSpan(offsets[i], lengths[i]);
            if (!RecordFraming.CrcMatches(frame))
            {
                return new ChunkFailure(i, AuditVerificationFailure.CorruptRecord, $"the record of entry {first + i} fails its CRC-32C check: a byte of the entry or its framing changed");
            }

            var body = frame[RecordFraming.HeaderSize..];
            if (AuditEntryEncoding.Validate(body) is { } problem)
            {
                return new ChunkFailure(i, AuditVerificationFailure.MalformedEntry, $"entry {first + i} is not a valid canonical encoding: {problem}");
            }

            var sequence = AuditEntryEncoding.ReadSequence(body);
            if (sequence != first + i)
            {
                return new ChunkFailure(i, AuditVerificationFailure.SequenceMismatch, $"the record in position {first + i} holds entry {sequence}: entries were reordered, inserted or removed");
            }

            if (i > start && !AuditEntryEncoding.ReadPreviousHash(body).SequenceEqual(leaves.AsSpan((i - 1) * AuditHash.Size, AuditHash.Size)))
            {
                return new ChunkFailure(i, AuditVerificationFailure.BrokenChain, $"entry {first + i} does not chain to the hash of entry {first + i - 1}: an entry before it was changed, removed or inserted");
            }

            var leaf = leaves.AsSpan(i * AuditHash.Size, AuditHash.Size);
            RecordFraming.HashEntryInPlace(frame, leaf);
            range.AppendLeaf(leaf);
        }

        return new ChunkFailure(-1, AuditVerificationFailure.None, null);
    }

    private readonly record struct ChunkFailure(int Index, AuditVerificationFailure Kind, string? Message);
}

/// <summary>A root the entries must reach at a tree size.</summary>
internal sealed record Expectation(long TreeSize, AuditHash RootHash, string Description, SignedCheckpoint? Checkpoint);
