namespace Bpi.Orchestration.Audit;

/// <summary>
/// An RFC 9162 inclusion proof (audit path): the sibling hashes that lead from one entry's leaf hash to the root of
/// a tree of <see cref="TreeSize"/> entries.
/// </summary>
public sealed class InclusionProof
{
    /// <summary>Creates a proof from its parts, for example one received from a log.</summary>
    /// <param name="leafIndex">The entry's sequence number (its leaf index).</param>
    /// <param name="treeSize">The size of the tree the proof is for.</param>
    /// <param name="path">The sibling hashes, leaf side first.</param>
    public InclusionProof(long leafIndex, long treeSize, IReadOnlyList<AuditHash> path)
    {
        ArgumentNullException.ThrowIfNull(path);
        LeafIndex = leafIndex;
        TreeSize = treeSize;
        Path = [.. path];
    }

    /// <summary>The entry's sequence number, which is its leaf index.</summary>
    public long LeafIndex { get; }

    /// <summary>The number of entries in the tree the proof is for.</summary>
    public long TreeSize { get; }

    /// <summary>The sibling hashes from the leaf up to the root.</summary>
    public IReadOnlyList<AuditHash> Path { get; }

    /// <summary>Checks that the entry with <paramref name="leafHash"/> is in the tree with <paramref name="rootHash"/>.</summary>
    /// <param name="leafHash">The entry's leaf hash (<see cref="AuditEntry.Hash"/>).</param>
    /// <param name="rootHash">The root of the tree of <see cref="TreeSize"/> entries, for example from a verified checkpoint.</param>
    /// <returns><see langword="true"/> when the proof holds.</returns>
    public bool Verify(AuditHash leafHash, AuditHash rootHash) => Explain(leafHash, rootHash) is null;

    /// <summary>Checks the proof and says why it fails.</summary>
    /// <param name="leafHash">The entry's leaf hash.</param>
    /// <param name="rootHash">The root of the tree of <see cref="TreeSize"/> entries.</param>
    /// <returns><see langword="null"/> when the proof holds; otherwise what is wrong.</returns>
    public string? Explain(AuditHash leafHash, AuditHash rootHash)
    {
        Span<byte> leaf = stackalloc byte[AuditHash.Size];
        Span<byte> root = stackalloc byte[AuditHash.Size];
        leafHash.CopyTo(leaf);
        rootHash.CopyTo(root);
        return MerkleProofVerifier.VerifyInclusion(LeafIndex, TreeSize, leaf, new HashArrayNodes(Path), root);
    }
}
