using System.Numerics;
using System.Security.Cryptography;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// The store's in-memory Merkle tree: every perfect, aligned subtree hash, level by level (about 64 bytes per leaf).
/// Roots and proofs for any size up to <see cref="LeafCount"/> cost O(log n) lookups and a few hashes. One writer
/// appends; readers ask only for sizes the writer has published (the store's committed size).
/// </summary>
internal sealed class MerkleTree
{
    private const int MaxLevels = 64;
    private readonly AppendOnlyHashList[] _levels = new AppendOnlyHashList[MaxLevels];
    private readonly byte[] _scratch = new byte[1 + (2 * AuditHash.Size)];
    private readonly byte[] _parent = new byte[AuditHash.Size];

    public MerkleTree()
    {
        for (var i = 0; i < MaxLevels; i++)
        {
            _levels[i] = new AppendOnlyHashList();
        }
    }

    public long LeafCount => _levels[0].Count;

    public void AppendLeaf(ReadOnlySpan<byte> leafHash)
    {
        var index = _levels[0].Count;
        _levels[0].Add(leafHash);
        var level = 0;
        while ((index & 1) == 1)
        {
            var scratch = _scratch.AsSpan();
            scratch[0] = MerkleHashing.NodePrefix;
            _levels[level].Get(index - 1).CopyTo(scratch[1..]);
            _levels[level].Get(index).CopyTo(scratch[(1 + AuditHash.Size)..]);
            Sha256Hasher.Hash(scratch, _parent);
            index >>= 1;
            level++;
            _levels[level].Add(_parent);
        }
    }

    /// <summary>The hash of the perfect subtree of 2^level leaves that starts at leaf index × 2^level.</summary>
    public AuditHash NodeHash(int level, long index) => new(_levels[level].Get(index));

    public AuditHash LeafHash(long index)
    {
        EnsureWithin(index + 1);
        return new AuditHash(_levels[0].Get(index));
    }

    public AuditHash Root(long treeSize)
    {
        EnsureWithin(treeSize);
        if (treeSize == 0)
        {
            return AuditHash.EmptyTreeRoot;
        }

        Span<byte> root = stackalloc byte[AuditHash.Size];
        SubtreeHash(0, treeSize, root);
        return new AuditHash(root);
    }

    /// <summary>RFC 9162 PATH(m, D[0:n]) as a list of hashes, leaf side first.</summary>
    public AuditHash[] InclusionPath(long index, long treeSize)
    {
        EnsureWithin(treeSize);
        if (index < 0 || index >= treeSize)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The entry must be below the tree size {treeSize}.");
        }

        var path = new List<AuditHash>(64);
        Span<byte> node = stackalloc byte[AuditHash.Size];
        // Walk down from the root, recording the sibling at each split; the list is reversed at the end.
        long start = 0;
        var size = treeSize;
        var m = index;
        while (size > 1)
        {
            var k = LargestPowerOfTwoBelow(size);
            if (m < k)
            {
                SubtreeHash(start + k, size - k, node);
                path.Add(new AuditHash(node));
                size = k;
            }
            else
            {
                SubtreeHash(start, k, node);
                path.Add(new AuditHash(node));
                start += k;
                m -= k;
                size -= k;
            }
        }

        path.Reverse();
        return [.. path];
    }

    /// <summary>RFC 9162 PROOF(m, D[0:n]) for 0 &lt; m ≤ n (empty when m = n).</summary>
    public AuditHash[] ConsistencyPath(long fromSize, long toSize)
    {
        EnsureWithin(toSize);
        if (fromSize <= 0 || fromSize > toSize)
        {
            throw new ArgumentOutOfRangeException(nameof(fromSize), fromSize, $"A consistency proof needs 0 < from ≤ to ({toSize}).");
        }

        var proof = new List<AuditHash>(64);
        if (fromSize == toSize)
        {
            return [];
        }

        Span<byte> node = stackalloc byte[AuditHash.Size];
        // SUBPROOF(m, D[start:start+size], b), unrolled: the recursion always continues into one half and appends the
        // other half's hash afterwards, so collect those hashes and reverse them.
        var suffix = new List<AuditHash>(64);
        long start = 0;
        var size = toSize;
        var m = fromSize;
        var complete = true;
        while (true)
        {
            if (m == size)
            {
                if (!complete)
                {
                    SubtreeHash(start, size, node);
                    proof.Add(new AuditHash(node));
                }

                break;
            }

            var k = LargestPowerOfTwoBelow(size);
            if (m <= k)
            {
                SubtreeHash(start + k, size - k, node);
                suffix.Add(new AuditHash(node));
                size = k;
            }
            else
            {
                SubtreeHash(start, k, node);
                suffix.Add(new AuditHash(node));
                start += k;
                m -= k;
                size -= k;
                complete = false;
            }
        }

        suffix.Reverse();
        proof.AddRange(suffix);
        return [.. proof];
    }

    /// <summary>Fills <paramref name="range"/> with the compact range of leaves [0, <paramref name="treeSize"/>).</summary>
    public void CompactRangeOf(long treeSize, CompactRange range)
    {
        EnsureWithin(treeSize);
        range.Reset(0);
        for (var level = 63; level >= 0; level--)
        {
            if ((treeSize & (1L << level)) != 0)
            {
                var index = range.End >> level;
                range.AppendNode(level, _levels[level].Get(index));
            }
        }
    }

    /// <summary>MTH(D[start : start + count]) for the ranges the RFC recursion visits.</summary>
    private void SubtreeHash(long start, long count, Span<byte> destination)
    {
        if (BitOperations.IsPow2(count) && (start & (count - 1)) == 0)
        {
            var level = BitOperations.Log2((ulong)count);
            _levels[level].Get(start >> level).CopyTo(destination);
            return;
        }

        var k = LargestPowerOfTwoBelow(count);
        Span<byte> left = stackalloc byte[AuditHash.Size];
        Span<byte> right = stackalloc byte[AuditHash.Size];
        SubtreeHash(start, k, left);
        SubtreeHash(start + k, count - k, right);
        MerkleHashing.HashChildren(left, right, destination);
    }

    internal static long LargestPowerOfTwoBelow(long n) => 1L << BitOperations.Log2((ulong)(n - 1));

    private void EnsureWithin(long treeSize)
    {
        if (treeSize < 0 || treeSize > LeafCount)
        {
            throw new ArgumentOutOfRangeException(nameof(treeSize), treeSize, $"The tree holds {LeafCount} entries.");
        }
    }
}
