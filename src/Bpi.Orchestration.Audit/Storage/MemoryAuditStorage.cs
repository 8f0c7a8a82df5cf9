using System.Runtime.CompilerServices;

namespace Bpi.Orchestration.Audit;

/// <summary>The storage of <see cref="InMemoryAuditStore"/>: one array per frame, nothing durable.</summary>
internal sealed class MemoryAuditStorage : AuditStorage
{
    private const int ChunkShift = 12;
    private byte[][][] _chunks = [];
    private long _count;

    public override void Append(long sequence, ReadOnlySpan<byte> frame)
    {
        var index = _count;
        var chunkIndex = (int)(index >> ChunkShift);
        if (chunkIndex == _chunks.Length)
        {
            var grown = new byte[_chunks.Length + 1][][];
            _chunks.CopyTo(grown, 0);
            grown[chunkIndex] = new byte[1 << ChunkShift][];
            Volatile.Write(ref _chunks, grown);
        }

        _chunks[chunkIndex][index & ((1 << ChunkShift) - 1)] = frame.ToArray();
        Volatile.Write(ref _count, index + 1);
    }

    public override ValueTask<long> WriteAsync(AuditLogHead head, CancellationToken cancellationToken) => ValueTask.FromResult(Volatile.Read(ref _count));

    public override void Sync(long token)
    {
    }

    public override ValueTask WriteCheckpointAsync(SignedCheckpoint checkpoint, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public override async IAsyncEnumerable<AuditFrameBlock> ReadFramesAsync(long from, long to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        const int BlockBytes = 1024 * 1024;
        var sequence = from;
        while (sequence < to)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chunks = Volatile.Read(ref _chunks);
            var last = sequence;
            long bytes = Frame(chunks, sequence).Length;
            while (last + 1 < to && bytes + Frame(chunks, last + 1).Length <= BlockBytes)
            {
                last++;
                bytes += Frame(chunks, last).Length;
            }

            var buffer = new byte[bytes];
            var position = 0;
            for (var s = sequence; s <= last; s++)
            {
                var frame = Frame(chunks, s);
                frame.CopyTo(buffer, position);
                position += frame.Length;
            }

            yield return new AuditFrameBlock(buffer, buffer.Length, sequence, (int)(last - sequence + 1), null, 0);
            sequence = last + 1;
            await Task.Yield();
        }
    }

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static byte[] Frame(byte[][][] chunks, long sequence) => chunks[(int)(sequence >> ChunkShift)][sequence & ((1 << ChunkShift) - 1)];
}
