namespace Bpi.Orchestration.Audit;

/// <summary>
/// A list of 32-byte hashes that only grows, stored in 64 KiB chunks (no large-object-heap copies when it grows).
/// One writer; readers may read any index below a count the writer published after adding it.
/// </summary>
internal sealed class AppendOnlyHashList
{
    private const int ChunkShift = 11;
    private const int ChunkHashes = 1 << ChunkShift;
    private const int ChunkMask = ChunkHashes - 1;

    private byte[][] _chunks = [];
    private long _count;

    public long Count => Volatile.Read(ref _count);

    public void Add(ReadOnlySpan<byte> hash)
    {
        var index = _count;
        var chunkIndex = (int)(index >> ChunkShift);
        var chunks = _chunks;
        if (chunkIndex == chunks.Length)
        {
            var grown = new byte[chunks.Length + 1][];
            chunks.CopyTo(grown, 0);
            grown[chunkIndex] = new byte[ChunkHashes * AuditHash.Size];
            Volatile.Write(ref _chunks, grown);
            chunks = grown;
        }

        hash.CopyTo(chunks[chunkIndex].AsSpan((int)(index & ChunkMask) * AuditHash.Size, AuditHash.Size));
        Volatile.Write(ref _count, index + 1);
    }

    public ReadOnlySpan<byte> Get(long index)
    {
        var chunks = Volatile.Read(ref _chunks);
        return chunks[(int)(index >> ChunkShift)].AsSpan((int)(index & ChunkMask) * AuditHash.Size, AuditHash.Size);
    }
}
