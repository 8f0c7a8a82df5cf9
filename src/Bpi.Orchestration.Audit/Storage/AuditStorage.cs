namespace Bpi.Orchestration.Audit;

/// <summary>
/// Where the engine keeps its framed records. The writer loop is the only caller of <see cref="Append"/>,
/// <see cref="WriteAsync"/> and <see cref="RotateAsync"/>, the syncer of <see cref="Sync"/> and <see cref="WriteCheckpointAsync"/>; readers call <see cref="ReadFramesAsync"/> for
/// committed sequence numbers only.
/// </summary>
internal abstract class AuditStorage : IAsyncDisposable
{
    /// <summary>Buffers one sealed frame for the next commit.</summary>
    public abstract void Append(ReadOnlySpan<byte> frame);

    /// <summary>Hands every appended frame to the operating system (for files: flushes the pipe); returns a token for <see cref="Sync"/>.</summary>
    public abstract ValueTask<long> WriteAsync(CancellationToken cancellationToken);

    /// <summary>Makes everything written up to <paramref name="token"/> durable (for files: one fsync). May run while the writer writes more.</summary>
    public abstract void Sync(long token);

    /// <summary>Whether the current segment is full and the writer should start a new one (after everything was synced).</summary>
    public virtual bool NeedsRotation => false;

    /// <summary>Starts a new segment at <paramref name="firstSequence"/>; called only when nothing is waiting for <see cref="Sync"/>.</summary>
    public virtual ValueTask RotateAsync(long firstSequence) => ValueTask.CompletedTask;

    /// <summary>
    /// For storage several writers share (a database): locks the log's head until the next <see cref="WriteAsync"/>
    /// commits, and returns it, so the engine first catches up with entries other writers appended and then sequences
    /// its batch after them. Single-writer storage returns <see langword="null"/> (the engine's own head is the truth).
    /// </summary>
    public virtual ValueTask<SharedHead?> LockHeadAsync(CancellationToken cancellationToken) => ValueTask.FromResult<SharedHead?>(null);

    /// <summary>Whether several writers share this storage (a database), so a reader must refresh to see their entries.</summary>
    public virtual bool IsShared => false;

    /// <summary>For shared storage: the log's head now, without locking it (to catch up before reads); otherwise <see langword="null"/>.</summary>
    public virtual ValueTask<SharedHead?> ReadHeadAsync(CancellationToken cancellationToken) => ValueTask.FromResult<SharedHead?>(null);

    /// <summary>Stores a checkpoint durably.</summary>
    public abstract ValueTask WriteCheckpointAsync(SignedCheckpoint checkpoint, CancellationToken cancellationToken);

    /// <summary>
    /// Reads the frames of sequences [<paramref name="from"/>, <paramref name="to"/>) in order, as blocks of whole
    /// consecutive frames. Each block is a fresh buffer the caller may modify.
    /// </summary>
    public abstract IAsyncEnumerable<FrameBlock> ReadFramesAsync(long from, long to, CancellationToken cancellationToken);

    /// <inheritdoc />
    public abstract ValueTask DisposeAsync();
}

/// <summary>The head of a shared log: how many entries it holds and the hash of the last one.</summary>
internal readonly record struct SharedHead(long Size, AuditHash LastHash);

/// <summary>Whole consecutive frames, the first one for <see cref="FirstSequence"/>.</summary>
internal readonly record struct FrameBlock(byte[] Buffer, int Length, long FirstSequence, int Count, string? File, long FileOffset);
