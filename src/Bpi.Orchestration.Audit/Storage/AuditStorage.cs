namespace Bpi.Orchestration.Audit;

/// <summary>
/// Where the engine keeps its framed records. The writer loop is the only caller of <see cref="Append"/>,
/// <see cref="CommitAsync"/> and <see cref="WriteCheckpointAsync"/>; readers call <see cref="ReadFramesAsync"/> for
/// committed sequence numbers only.
/// </summary>
internal abstract class AuditStorage : IAsyncDisposable
{
    /// <summary>Buffers one sealed frame for the next commit.</summary>
    public abstract void Append(ReadOnlySpan<byte> frame);

    /// <summary>Makes every appended frame durable (for files: written through the pipe, then fsync).</summary>
    public abstract ValueTask CommitAsync(CancellationToken cancellationToken);

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

/// <summary>Whole consecutive frames, the first one for <see cref="FirstSequence"/>.</summary>
internal readonly record struct FrameBlock(byte[] Buffer, int Length, long FirstSequence, int Count, string? File, long FileOffset);
