using System.Security.Cryptography;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// The RFC 9162 (RFC 6962) Merkle tree hash with SHA-256: a leaf is <c>SHA-256(0x00 ‖ data)</c>, an interior node is
/// <c>SHA-256(0x01 ‖ left ‖ right)</c>, the empty tree is <c>SHA-256("")</c>, and a tree of n &gt; 1 leaves splits at the
/// largest power of two below n.
/// </summary>
public static class MerkleHasher
{
    /// <summary>The leaf hash of <paramref name="data"/>: <c>SHA-256(0x00 ‖ data)</c>.</summary>
    /// <param name="data">The leaf input, for an audit entry its canonical encoding.</param>
    /// <returns>The leaf hash.</returns>
    public static AuditHash HashLeaf(ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[AuditHash.Size];
        MerkleHashing.HashLeaf(data, hash);
        return new AuditHash(hash);
    }

    /// <summary>The interior node hash <c>SHA-256(0x01 ‖ left ‖ right)</c>.</summary>
    /// <param name="left">The left child.</param>
    /// <param name="right">The right child.</param>
    /// <returns>The node hash.</returns>
    public static AuditHash HashChildren(AuditHash left, AuditHash right)
    {
        Span<byte> buffer = stackalloc byte[1 + (2 * AuditHash.Size)];
        buffer[0] = MerkleHashing.NodePrefix;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[(1 + AuditHash.Size)..]);
        Span<byte> hash = stackalloc byte[AuditHash.Size];
        Sha256Hasher.Hash(buffer, hash);
        return new AuditHash(hash);
    }

    /// <summary>The Merkle tree hash (root) of a list of leaf hashes.</summary>
    /// <param name="leafHashes">The leaf hashes in order; empty gives <see cref="AuditHash.EmptyTreeRoot"/>.</param>
    /// <returns>The root hash.</returns>
    public static AuditHash ComputeRoot(IReadOnlyList<AuditHash> leafHashes)
    {
        ArgumentNullException.ThrowIfNull(leafHashes);
        var range = new CompactRange(0);
        Span<byte> leaf = stackalloc byte[AuditHash.Size];
        for (var i = 0; i < leafHashes.Count; i++)
        {
            leafHashes[i].CopyTo(leaf);
            range.AppendLeaf(leaf);
        }

        return range.RootOfPrefix();
    }
}

/// <summary>Span-based SHA-256 Merkle hashing without allocations.</summary>
internal static class MerkleHashing
{
    public const byte LeafPrefix = 0x00;
    public const byte NodePrefix = 0x01;

    /// <summary>Writes SHA-256(0x00 ‖ data) to <paramref name="destination"/>.</summary>
    public static void HashLeaf(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (data.Length <= 1024)
        {
            Span<byte> buffer = stackalloc byte[data.Length + 1];
            buffer[0] = LeafPrefix;
            data.CopyTo(buffer[1..]);
            Sha256Hasher.Hash(buffer, destination);
        }
        else
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            hash.AppendData([LeafPrefix]);
            hash.AppendData(data);
            hash.GetHashAndReset(destination);
        }
    }

    /// <summary>Writes SHA-256(0x01 ‖ left ‖ right) to <paramref name="destination"/>; children may have any length.</summary>
    public static void HashChildren(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        var length = 1 + left.Length + right.Length;
        if (length <= 256)
        {
            Span<byte> buffer = stackalloc byte[length];
            buffer[0] = NodePrefix;
            left.CopyTo(buffer[1..]);
            right.CopyTo(buffer[(1 + left.Length)..]);
            Sha256Hasher.Hash(buffer, destination);
        }
        else
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            hash.AppendData([NodePrefix]);
            hash.AppendData(left);
            hash.AppendData(right);
            hash.GetHashAndReset(destination);
        }
    }
}
