namespace Bpi.Orchestration.Audit;

/// <summary>Why verification failed.</summary>
public enum AuditVerificationFailure
{
    /// <summary>Nothing failed.</summary>
    None = 0,

    /// <summary>A file is missing, unreadable, or its header is damaged.</summary>
    DamagedFile,

    /// <summary>A record's framing or CRC-32C is wrong: a byte of the entry or its framing changed, or the file was cut inside a record.</summary>
    CorruptRecord,

    /// <summary>A record passes its CRC but its entry is not a valid canonical encoding.</summary>
    MalformedEntry,

    /// <summary>An entry holds the wrong sequence number: entries were reordered, inserted or removed, or a segment is missing.</summary>
    SequenceMismatch,

    /// <summary>An entry's previous-hash field is not the hash of the entry before it.</summary>
    BrokenChain,

    /// <summary>The entries do not hash to the root of a signed checkpoint (or of the store's tree).</summary>
    RootMismatch,

    /// <summary>A signed checkpoint covers more entries than are present: the log was truncated.</summary>
    MissingEntries,

    /// <summary>A checkpoint is malformed, or its signature does not verify with the trusted keys.</summary>
    InvalidCheckpoint,

    /// <summary>Two checkpoints are not consistent (the consistency proof fails, or the log shrank).</summary>
    InconsistentCheckpoints,

    /// <summary>
    /// Entries are present that no signed checkpoint covers: checkpoints were removed (or the checkpoint file deleted or
    /// emptied), or the store stopped before signing its newest entries. Nothing vouches for those entries.
    /// </summary>
    UncheckpointedEntries,

    /// <summary>
    /// The log contradicts a witness: the witness holds a checkpoint newer than the log's own, or one the log does not
    /// reproduce, or the witness could not be read or holds an invalid checkpoint.
    /// </summary>
    WitnessMismatch,
}

/// <summary>The outcome of a verification: valid, or the first bad entry and why.</summary>
public sealed class AuditVerificationResult
{
    internal AuditVerificationResult(
        AuditVerificationFailure failure,
        string message,
        long entriesVerified,
        long? firstBadSequence,
        string? file,
        long? fileOffset,
        AuditHash rootHash,
        int checkpointsVerified,
        SignedCheckpoint? latestCheckpoint,
        bool signaturesChecked)
    {
        Failure = failure;
        Message = message;
        EntriesVerified = entriesVerified;
        FirstBadSequence = firstBadSequence;
        File = file;
        FileOffset = fileOffset;
        RootHash = rootHash;
        CheckpointsVerified = checkpointsVerified;
        LatestCheckpoint = latestCheckpoint;
        SignaturesChecked = signaturesChecked;
    }

    /// <summary>Whether everything checked out.</summary>
    public bool IsValid => Failure == AuditVerificationFailure.None;

    /// <summary>Why verification failed; <see cref="AuditVerificationFailure.None"/> when it did not.</summary>
    public AuditVerificationFailure Failure { get; }

    /// <summary>What was found (and, on failure, what to do next).</summary>
    public string Message { get; }

    /// <summary>The number of entries that were read and found valid.</summary>
    public long EntriesVerified { get; }

    /// <summary>The sequence number of the first bad (or first missing) entry; <see langword="null"/> when the failure is not about one entry.</summary>
    public long? FirstBadSequence { get; }

    /// <summary>The file the failure is in, when it is in a file.</summary>
    public string? File { get; }

    /// <summary>The byte offset of the failure in <see cref="File"/>.</summary>
    public long? FileOffset { get; }

    /// <summary>The RFC 9162 root of the entries verified (of all of them when valid).</summary>
    public AuditHash RootHash { get; }

    /// <summary>The number of checkpoints whose root (and, when <see cref="SignaturesChecked"/>, signature) was verified.</summary>
    public int CheckpointsVerified { get; }

    /// <summary>The newest checkpoint that was verified.</summary>
    public SignedCheckpoint? LatestCheckpoint { get; }

    /// <summary>Whether checkpoint signatures were checked (a <see cref="CheckpointVerifier"/> was given).</summary>
    public bool SignaturesChecked { get; }

    /// <inheritdoc />
    public override string ToString() => IsValid ? Message : $"{Failure}: {Message}";
}
