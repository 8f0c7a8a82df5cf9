using System.Security.Cryptography;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// The compact range of leaves [<see cref="Begin"/>, <see cref="End"/>): the ordered list of maximal, aligned, perfect
/// subtrees that cover it (at most two per level). Appending a leaf costs one node hash amortized; two adjacent ranges
/// merge in O(log n) hashes, which is what lets verification hash chunks of the log in parallel. Never allocates after
/// construction.
/// </summary>
internal sealed class CompactRange
{
    private const int MaxNodes = 130;
    private readonly byte[] _hashes = new byte[MaxNodes * AuditHash.Size];
    private readonly int[] _levels = new int[MaxNodes];
    private readonly byte[] _scratch = new byte[1 + (2 * AuditHash.Size)];
    private int _count;

    public CompactRange(long begin)
    {
        Reset(begin);
    }

    public long Begin { get; private set; }

    public long End { get; private set; }

    public int NodeCount => _count;

    public void Reset(long begin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(begin);
        Begin = begin;
        End = begin;
        _count = 0;
    }

    public void CopyFrom(CompactRange other)
    {
        Begin = other.Begin;
        End = other.End;
        _count = other._count;
        other._hashes.AsSpan(0, _count * AuditHash.Size).CopyTo(_hashes);
        other._levels.AsSpan(0, _count).CopyTo(_levels);
    }

    public ReadOnlySpan<byte> NodeHash(int index) => _hashes.AsSpan(index * AuditHash.Size, AuditHash.Size);

    public int NodeLevel(int index) => _levels[index];

    public void AppendLeaf(ReadOnlySpan<byte> leafHash) => AppendNode(0, leafHash);

    /// <summary>Appends the perfect subtree of 2^level leaves that starts at <see cref="End"/>.</summary>
    public void AppendNode(int level, ReadOnlySpan<byte> hash)
    {
        var size = 1L << level;
        if ((End & (size - 1)) != 0)
        {
            throw new InvalidOperationException($"A node of level {level} cannot start at leaf {End}: it is not aligned.");
        }

        hash.CopyTo(_hashes.AsSpan(_count * AuditHash.Size, AuditHash.Size));
        _levels[_count] = level;
        _count++;
        End += size;

        while (_count >= 2 && _levels[_count - 1] == _levels[_count - 2])
        {
            var lv = _levels[_count - 1];
            var leftStart = End - (2L << lv);
            if ((leftStart & ((2L << lv) - 1)) != 0 || leftStart < Begin)
            {
                break;
            }

            var scratch = _scratch.AsSpan();
            scratch[0] = MerkleHashing.NodePrefix;
            _hashes.AsSpan((_count - 2) * AuditHash.Size, 2 * AuditHash.Size).CopyTo(scratch[1..]);
            Sha256Hasher.Hash(scratch, _hashes.AsSpan((_count - 2) * AuditHash.Size, AuditHash.Size));
            _levels[_count - 2] = lv + 1;
            _count--;
        }
    }

    /// <summary>Appends every node of <paramref name="other"/>, which must start where this range ends.</summary>
    public void Append(CompactRange other)
    {
        if (other.Begin != End)
        {
            throw new InvalidOperationException($"Cannot append the range starting at {other.Begin} to one ending at {End}.");
        }

        for (var i = 0; i < other._count; i++)
        {
            AppendNode(other._levels[i], other.NodeHash(i));
        }
    }

    /// <summary>The RFC 9162 root of leaves [0, <see cref="End"/>); only for ranges that begin at 0.</summary>
    public AuditHash RootOfPrefix()
    {
        Span<byte> root = stackalloc byte[AuditHash.Size];
        RootOfPrefix(root);
        return new AuditHash(root);
    }

    /// <summary>Writes the RFC 9162 root of leaves [0, <see cref="End"/>) to <paramref name="destination"/>.</summary>
    public void RootOfPrefix(Span<byte> destination)
    {
        if (Begin != 0)
        {
            throw new InvalidOperationException("Only a range that begins at leaf 0 has a tree root.");
        }

        if (_count == 0)
        {
            Sha256Hasher.Hash(ReadOnlySpan<byte>.Empty, destination);
            return;
        }

        Span<byte> root = stackalloc byte[AuditHash.Size];
        NodeHash(_count - 1).CopyTo(root);
        for (var i = _count - 2; i >= 0; i--)
        {
            MerkleHashing.HashChildren(NodeHash(i), root, root);
        }

        root.CopyTo(destination);
    }
}
