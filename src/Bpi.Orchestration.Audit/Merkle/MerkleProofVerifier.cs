using System.Numerics;

namespace Bpi.Orchestration.Audit;

/// <summary>Access to the hashes of a proof without copying them into a new list.</summary>
internal interface IProofNodes
{
    int Count { get; }

    /// <summary>The node's bytes; may use <paramref name="scratch"/> (32 bytes) as storage.</summary>
    ReadOnlySpan<byte> Node(int index, Span<byte> scratch);
}

internal readonly struct HashArrayNodes(IReadOnlyList<AuditHash> hashes) : IProofNodes
{
    public int Count => hashes.Count;

    public ReadOnlySpan<byte> Node(int index, Span<byte> scratch)
    {
        hashes[index].CopyTo(scratch);
        return scratch[..AuditHash.Size];
    }
}

internal readonly struct ByteArrayNodes(IReadOnlyList<byte[]> hashes) : IProofNodes
{
    public int Count => hashes.Count;

    public ReadOnlySpan<byte> Node(int index, Span<byte> scratch) => hashes[index];
}

/// <summary>
/// Verification of RFC 9162 inclusion (§2.1.3.2) and consistency (§2.1.4.2) proofs, with the edge rules of the
/// transparency-dev/merkle reference: hashes are exactly 32 bytes, the proof has exactly the expected length, a
/// consistency proof between equal sizes is empty and the roots are equal, and a proof from size 0 is refused.
/// Returns <see langword="null"/> when the proof holds, otherwise why it does not.
/// </summary>
internal static class MerkleProofVerifier
{
    public static string? VerifyInclusion<TNodes>(long index, long treeSize, ReadOnlySpan<byte> leafHash, TNodes proof, ReadOnlySpan<byte> root)
        where TNodes : IProofNodes
    {
        if (index < 0 || treeSize < 0 || index >= treeSize)
        {
            return $"Entry {index} is not below the tree size {treeSize}.";
        }

        if (leafHash.Length != AuditHash.Size)
        {
            return $"The leaf hash is {leafHash.Length} bytes; a SHA-256 hash is {AuditHash.Size}.";
        }

        var (inner, border) = DecomposeInclusion(index, treeSize);
        if (proof.Count != inner + border)
        {
            return $"An inclusion proof for entry {index} in a tree of {treeSize} has {inner + border} hashes; this one has {proof.Count}.";
        }

        Span<byte> hash = stackalloc byte[AuditHash.Size];
        Span<byte> scratch = stackalloc byte[AuditHash.Size];
        leafHash.CopyTo(hash);
        ChainInner(hash, proof, 0, inner, index, scratch);
        ChainBorderRight(hash, proof, inner, border, scratch);
        if (root.Length != AuditHash.Size || !hash.SequenceEqual(root))
        {
            return $"The inclusion proof for entry {index} does not lead to the given root of the tree of size {treeSize}.";
        }

        return null;
    }

    public static string? VerifyConsistency<TNodes>(long size1, long size2, ReadOnlySpan<byte> root1, ReadOnlySpan<byte> root2, TNodes proof)
        where TNodes : IProofNodes
    {
        if (size1 < 0 || size2 < size1)
        {
            return $"A tree cannot shrink from {size1} to {size2} entries.";
        }

        if (size1 == 0)
        {
            return "A consistency proof from the empty tree proves nothing; verify the newer tree head directly.";
        }

        if (size1 == size2)
        {
            if (!root1.SequenceEqual(root2))
            {
                return $"Two trees of the same size {size1} have different roots: the log forked.";
            }

            return proof.Count == 0 ? null : "A consistency proof between trees of equal size must be empty.";
        }

        if (root1.Length != AuditHash.Size || root2.Length != AuditHash.Size)
        {
            return "Each root must be a 32-byte SHA-256 hash.";
        }

        if (proof.Count == 0)
        {
            return "The consistency proof is empty.";
        }

        var (inner, border) = DecomposeInclusion(size1 - 1, size2);
        var shift = BitOperations.TrailingZeroCount((ulong)size1);
        inner -= shift;

        Span<byte> seed = stackalloc byte[AuditHash.Size];
        Span<byte> scratch = stackalloc byte[AuditHash.Size];
        int start;
        if (size1 == 1L << shift)
        {
            root1.CopyTo(seed);
            start = 0;
        }
        else
        {
            var first = proof.Node(0, scratch);
            if (first.Length != AuditHash.Size)
            {
                return "Each hash of the consistency proof must be 32 bytes.";
            }

            first.CopyTo(seed);
            start = 1;
        }

        if (proof.Count != start + inner + border)
        {
            return $"A consistency proof from {size1} to {size2} has {start + inner + border} hashes; this one has {proof.Count}.";
        }

        var mask = (size1 - 1) >> shift;
        Span<byte> hash1 = stackalloc byte[AuditHash.Size];
        seed.CopyTo(hash1);
        ChainInnerRight(hash1, proof, start, inner, mask, scratch);
        ChainBorderRight(hash1, proof, start + inner, border, scratch);
        if (!hash1.SequenceEqual(root1))
        {
            return $"The consistency proof does not lead to the older root (size {size1}).";
        }

        Span<byte> hash2 = stackalloc byte[AuditHash.Size];
        seed.CopyTo(hash2);
        ChainInner(hash2, proof, start, inner, mask, scratch);
        ChainBorderRight(hash2, proof, start + inner, border, scratch);
        if (!hash2.SequenceEqual(root2))
        {
            return $"The consistency proof does not lead to the newer root (size {size2}): the log was rewritten.";
        }

        return null;
    }

    /// <summary>
    /// The number of proof hashes below the point where the paths to <paramref name="index"/> and to the last leaf
    /// split (<c>inner</c>), and above it (<c>border</c>, always left siblings).
    /// </summary>
    internal static (int Inner, int Border) DecomposeInclusion(long index, long size)
    {
        var inner = 64 - BitOperations.LeadingZeroCount((ulong)(index ^ (size - 1)));
        var border = BitOperations.PopCount((ulong)index >> inner);
        return (inner, border);
    }

    private static void ChainInner<TNodes>(Span<byte> hash, TNodes proof, int offset, int count, long index, Span<byte> scratch)
        where TNodes : IProofNodes
    {
        for (var i = 0; i < count; i++)
        {
            var node = proof.Node(offset + i, scratch);
            if (((index >> i) & 1) == 0)
            {
                MerkleHashing.HashChildren(hash, node, hash);
            }
            else
            {
                MerkleHashing.HashChildren(node, hash, hash);
            }
        }
    }

    private static void ChainInnerRight<TNodes>(Span<byte> hash, TNodes proof, int offset, int count, long index, Span<byte> scratch)
        where TNodes : IProofNodes
    {
        for (var i = 0; i < count; i++)
        {
            if (((index >> i) & 1) == 1)
            {
                MerkleHashing.HashChildren(proof.Node(offset + i, scratch), hash, hash);
            }
        }
    }

    private static void ChainBorderRight<TNodes>(Span<byte> hash, TNodes proof, int offset, int count, Span<byte> scratch)
        where TNodes : IProofNodes
    {
        for (var i = 0; i < count; i++)
        {
            MerkleHashing.HashChildren(proof.Node(offset + i, scratch), hash, hash);
        }
    }
}
