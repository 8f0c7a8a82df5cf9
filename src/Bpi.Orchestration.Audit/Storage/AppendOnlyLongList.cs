namespace Bpi.Orchestration.Audit;

/// <summary>A growing list of 64-bit values in 64 KiB chunks: one writer, readers below a published count.</summary>
internal sealed class AppendOnlyLongList
{
    private const int ChunkShift = 13;
    private const int ChunkSize = 1 << ChunkShift;
    private const int ChunkMask = ChunkSize - 1;

    private long[][] _chunks = [];
    private long _count;

    public long Count => Volatile.Read(ref _count);

    public void Add(long value)
    {
        var index = _count;
        var chunkIndex = (int)(index >> ChunkShift);
        var chunks = _chunks;
        if (chunkIndex == chunks.Length)
        {
            var grown = new long[chunks.Length + 1][];
            chunks.CopyTo(grown, 0);
            grown[chunkIndex] = new long[ChunkSize];
            Volatile.Write(ref _chunks, grown);
            chunks = grown;
        }

        chunks[chunkIndex][index & ChunkMask] = value;
        Volatile.Write(ref _count, index + 1);
    }

    public long this[long index] => Volatile.Read(ref _chunks)[(int)(index >> ChunkShift)][index & ChunkMask];
}
