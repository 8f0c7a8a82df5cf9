namespace Bpi.Orchestration.Audit;

/// <summary>
/// An RFC 9162 consistency proof: the hashes that show the tree of <see cref="ToSize"/> entries extends the tree of
/// <see cref="FromSize"/> entries without changing any of them.
/// </summary>
public sealed class ConsistencyProof
{
    /// <summary>Creates a proof from its parts, for example one received from a log.</summary>
    /// <param name="fromSize">The size of the older tree.</param>
    /// <param name="toSize">The size of the newer tree.</param>
    /// <param name="path">The proof hashes.</param>
    public ConsistencyProof(long fromSize, long toSize, IReadOnlyList<AuditHash> path)
    {
        ArgumentNullException.ThrowIfNull(path);
        FromSize = fromSize;
        ToSize = toSize;
        Path = [.. path];
    }

    /// <summary>The number of entries in the older tree.</summary>
    public long FromSize { get; }

    /// <summary>The number of entries in the newer tree.</summary>
    public long ToSize { get; }

    /// <summary>The proof hashes.</summary>
    public IReadOnlyList<AuditHash> Path { get; }

    /// <summary>Checks that the tree with <paramref name="toRoot"/> extends the tree with <paramref name="fromRoot"/>.</summary>
    /// <param name="fromRoot">The older root, for example from a trusted checkpoint.</param>
    /// <param name="toRoot">The newer root.</param>
    /// <returns><see langword="true"/> when the proof holds.</returns>
    public bool Verify(AuditHash fromRoot, AuditHash toRoot) => Explain(fromRoot, toRoot) is null;

    /// <summary>Checks the proof and says why it fails.</summary>
    /// <param name="fromRoot">The older root.</param>
    /// <param name="toRoot">The newer root.</param>
    /// <returns><see langword="null"/> when the proof holds; otherwise what is wrong.</returns>
    public string? Explain(AuditHash fromRoot, AuditHash toRoot)
    {
        Span<byte> root1 = stackalloc byte[AuditHash.Size];
        Span<byte> root2 = stackalloc byte[AuditHash.Size];
        fromRoot.CopyTo(root1);
        toRoot.CopyTo(root2);
        return MerkleProofVerifier.VerifyConsistency(FromSize, ToSize, root1, root2, new HashArrayNodes(Path));
    }
}
