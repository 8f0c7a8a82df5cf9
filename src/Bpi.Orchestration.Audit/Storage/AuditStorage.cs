namespace Bpi.Orchestration.Audit;

/// <summary>
/// Where an audit log keeps its entries, its head and its signed checkpoints — the extension point for storing the
/// chain somewhere other than files (a database, for example). The storage only keeps bytes: the canonical encoding,
/// sequencing, hash chain, Merkle tree, checkpoint signing, proofs, verification and export stay in this package.
/// Open a store over a storage by deriving from <see cref="AuditLogStore"/>.
/// </summary>
/// <remarks>
/// <para>
/// The store calls the storage from one writer loop: for each batch <see cref="LockHeadAsync"/>, then
/// <see cref="Append"/> once per entry, then <see cref="WriteAsync"/>, which must store the whole batch and the new
/// head atomically (all of it or none). <see cref="Sync"/> then makes it durable, if <see cref="WriteAsync"/> did not.
/// Readers call <see cref="ReadFramesAsync"/> for committed sequence numbers only, concurrently with the writer.
/// </para>
/// <para>
/// A frame is opaque: keep it byte for byte as appended and hand it back in order. Everything read is checked (CRC,
/// sequence number, link to the previous entry's hash, and the head's hash), so a storage that loses or changes an
/// entry makes the store refuse to open or stop, instead of serving a broken chain.
/// </para>
/// </remarks>
public abstract class AuditStorage : IAsyncDisposable
{
    /// <summary>Creates the storage.</summary>
    protected AuditStorage()
    {
    }

    /// <summary>Whether the current segment is full and the writer should start a new one (after everything was synced).</summary>
    internal virtual bool NeedsRotation => false;

    /// <summary>Buffers one sealed entry frame for the next <see cref="WriteAsync"/>.</summary>
    /// <param name="sequence">The entry's sequence number (consecutive within a batch, following the head).</param>
    /// <param name="frame">The sealed frame; copy it, the buffer is reused after the call.</param>
    public abstract void Append(long sequence, ReadOnlySpan<byte> frame);

    /// <summary>
    /// Stores every frame appended since the last call together with the log's new head, atomically, and returns a
    /// token for <see cref="Sync"/>.
    /// </summary>
    /// <param name="head">The log's head after the appended frames: its size and the hash of its last entry.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A token that <see cref="Sync"/> receives.</returns>
    public abstract ValueTask<long> WriteAsync(AuditLogHead head, CancellationToken cancellationToken);

    /// <summary>
    /// Makes everything written up to <paramref name="token"/> durable; may run while the writer writes the next batch.
    /// Entries are acknowledged to their callers only after it returns. The default does nothing: use it when
    /// <see cref="WriteAsync"/> is already durable (a database commit).
    /// </summary>
    /// <param name="token">The token a <see cref="WriteAsync"/> returned.</param>
    public virtual void Sync(long token)
    {
    }

    /// <summary>Starts a new segment at <paramref name="firstSequence"/>; called only when nothing is waiting for <see cref="Sync"/>.</summary>
    internal virtual ValueTask RotateAsync(long firstSequence) => ValueTask.CompletedTask;

    /// <summary>
    /// For storage several writers share (a database): locks the log's head until the next <see cref="WriteAsync"/>
    /// commits and returns it, so the store first takes in the entries other writers appended and then sequences its
    /// batch after them. The default returns <see langword="null"/>: a single writer, whose own head is the truth.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait for the lock.</param>
    /// <returns>The locked head, or <see langword="null"/> for a single writer.</returns>
    public virtual ValueTask<AuditLogHead?> LockHeadAsync(CancellationToken cancellationToken) => ValueTask.FromResult<AuditLogHead?>(null);

    /// <summary>
    /// The log's head now, without locking it. <see cref="AuditLogStore"/> requires it: it reads and checks every
    /// stored entry up to the head when it opens, and again when it is refreshed. The default returns
    /// <see langword="null"/> (the built-in file and memory stores recover their own head).
    /// </summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The head, or <see langword="null"/> when the storage does not report one.</returns>
    public virtual ValueTask<AuditLogHead?> ReadHeadAsync(CancellationToken cancellationToken) => ValueTask.FromResult<AuditLogHead?>(null);

    /// <summary>Whether several writers share this storage (a database), so a reader must refresh to see the entries others appended.</summary>
    public virtual bool IsShared => false;

    /// <summary>Stores a signed checkpoint durably (keep <see cref="SignedCheckpoint.NoteText"/>; two writers may store one tree size twice, keep either).</summary>
    /// <param name="checkpoint">The checkpoint.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the checkpoint is stored.</returns>
    public abstract ValueTask WriteCheckpointAsync(SignedCheckpoint checkpoint, CancellationToken cancellationToken);

    /// <summary>
    /// The <see cref="SignedCheckpoint.NoteText"/> of every stored checkpoint, read when a store opens (each is parsed
    /// and checked against the entries). The default returns none.
    /// </summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The note texts, in any order.</returns>
    public virtual ValueTask<IReadOnlyList<string>> ReadCheckpointsAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<string>>([]);

    /// <summary>
    /// Reads the frames of sequences [<paramref name="from"/>, <paramref name="to"/>) in order, as blocks of whole
    /// consecutive frames. Each block is a fresh buffer the caller may modify.
    /// </summary>
    /// <param name="from">The first sequence number.</param>
    /// <param name="to">One past the last sequence number.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The blocks, in order.</returns>
    /// <exception cref="AuditStoreException">An entry in the range is missing.</exception>
    public abstract IAsyncEnumerable<AuditFrameBlock> ReadFramesAsync(long from, long to, CancellationToken cancellationToken);

    /// <summary>Releases the storage (connections, files); the store calls it once, when it is disposed.</summary>
    /// <returns>A task that completes when the storage is released.</returns>
    public abstract ValueTask DisposeAsync();
}

/// <summary>The head of an audit log: how many entries it holds and the hash of the last one.</summary>
/// <param name="size">How many entries the log holds.</param>
/// <param name="lastEntryHash">The hash of entry <c>size - 1</c>; <see cref="AuditHash.Zero"/> for an empty log.</param>
public readonly struct AuditLogHead(long size, AuditHash lastEntryHash)
{
    /// <summary>How many entries the log holds.</summary>
    public long Size { get; } = size;

    /// <summary>The hash of the last entry; <see cref="AuditHash.Zero"/> for an empty log.</summary>
    public AuditHash LastEntryHash { get; } = lastEntryHash;
}

/// <summary>Whole consecutive entry frames read from an <see cref="AuditStorage"/>, the first one for <see cref="FirstSequence"/>.</summary>
public readonly struct AuditFrameBlock
{
    /// <summary>Creates a block.</summary>
    /// <param name="buffer">The frames, back to back from offset 0 (a fresh buffer the store may modify).</param>
    /// <param name="length">How many bytes of <paramref name="buffer"/> hold frames.</param>
    /// <param name="firstSequence">The sequence number of the first frame.</param>
    /// <param name="count">How many frames the block holds.</param>
    public AuditFrameBlock(byte[] buffer, int length, long firstSequence, int count)
        : this(buffer, length, firstSequence, count, null, 0)
    {
    }

    internal AuditFrameBlock(byte[] buffer, int length, long firstSequence, int count, string? file, long fileOffset)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, buffer.Length);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Buffer = buffer;
        Length = length;
        FirstSequence = firstSequence;
        Count = count;
        File = file;
        FileOffset = fileOffset;
    }

    /// <summary>The frames, back to back from offset 0.</summary>
    public byte[] Buffer { get; }

    /// <summary>How many bytes of <see cref="Buffer"/> hold frames.</summary>
    public int Length { get; }

    /// <summary>The sequence number of the first frame.</summary>
    public long FirstSequence { get; }

    /// <summary>How many frames the block holds.</summary>
    public int Count { get; }

    /// <summary>The segment file the block was read from (for error messages), or <see langword="null"/>.</summary>
    internal string? File { get; }

    /// <summary>The block's offset in <see cref="File"/>.</summary>
    internal long FileOffset { get; }
}
