using System.Runtime.CompilerServices;

namespace Bpi.Orchestration.Audit;

/// <summary>The read and proof operations both stores share.</summary>
internal static class AuditStoreOperations
{
    public static async IAsyncEnumerable<AuditEntry> ReadAsync(AuditLogEngine engine, long fromSequence, long? count, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var committed = engine.Count;
        ArgumentOutOfRangeException.ThrowIfNegative(fromSequence);
        if (count is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "The count cannot be negative.");
        }

        var to = count is null ? committed : Math.Min(committed, fromSequence + count.Value);
        if (fromSequence >= to)
        {
            yield break;
        }

        await foreach (var block in engine.Storage.ReadFramesAsync(fromSequence, to, cancellationToken).ConfigureAwait(false))
        {
            var position = 0;
            for (var i = 0; i < block.Count; i++)
            {
                var entry = DecodeFrame(block, ref position);
                yield return entry;
            }
        }
    }

    public static async ValueTask<AuditEntry> GetEntryAsync(AuditLogEngine engine, long sequence, CancellationToken cancellationToken)
    {
        var committed = engine.Count;
        if (sequence < 0 || sequence >= committed)
        {
            throw new ArgumentOutOfRangeException(nameof(sequence), sequence, $"The log holds entries 0 to {committed - 1}.");
        }

        await foreach (var entry in ReadAsync(engine, sequence, 1, cancellationToken).ConfigureAwait(false))
        {
            return entry;
        }

        throw new AuditStoreException($"Entry {sequence} could not be read.");
    }

    public static AuditHash GetRootHash(AuditLogEngine engine, long? treeSize) => engine.Tree.Root(ResolveSize(engine, treeSize));

    public static InclusionProof GetInclusionProof(AuditLogEngine engine, long sequence, long? treeSize)
    {
        var size = ResolveSize(engine, treeSize);
        return new InclusionProof(sequence, size, engine.Tree.InclusionPath(sequence, size));
    }

    public static ConsistencyProof GetConsistencyProof(AuditLogEngine engine, long fromSize, long? toSize)
    {
        var size = ResolveSize(engine, toSize);
        return new ConsistencyProof(fromSize, size, engine.Tree.ConsistencyPath(fromSize, size));
    }

    private static long ResolveSize(AuditLogEngine engine, long? treeSize)
    {
        var committed = engine.Count;
        var size = treeSize ?? committed;
        if (size < 0 || size > committed)
        {
            throw new ArgumentOutOfRangeException(nameof(treeSize), treeSize, $"The tree size must be between 0 and the committed size {committed}.");
        }

        return size;
    }

    private static AuditEntry DecodeFrame(AuditFrameBlock block, ref int position)
    {
        var header = block.Buffer.AsSpan(position);
        var length = RecordFraming.HeaderSize + (int)RecordFraming.ReadLength(header);
        var frame = block.Buffer.AsSpan(position, length);
        if (!RecordFraming.CrcMatches(frame))
        {
            throw new AuditStoreException($"The record at offset {block.FileOffset + position} of {block.File ?? "memory"} fails its CRC-32C check: the file was changed on disk. Stop the store and run AuditVerifier.VerifyDirectoryAsync.");
        }

        Span<byte> leaf = stackalloc byte[AuditHash.Size];
        RecordFraming.HashEntryInPlace(frame, leaf);
        position += length;
        return AuditEntryEncoding.Decode(frame[RecordFraming.HeaderSize..], new AuditHash(leaf));
    }
}
