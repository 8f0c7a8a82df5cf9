using System.Security.Cryptography;
using FsCheck;
using FsCheck.Fluent;

namespace Bpi.Orchestration.Audit.Tests.Merkle;

public sealed class MerkleProofPropertyTests
{
    private const int MaxSize = 300;
    private static readonly byte[][] Entries = [.. Enumerable.Range(0, MaxSize).Select(i => SHA256.HashData(BitConverter.GetBytes(i * 7919))[..(1 + (i % 32))])];
    private static readonly AuditHash[] Leaves = [.. Entries.Select(e => MerkleHasher.HashLeaf(e))];
    private static readonly MerkleTree Tree = BuildTree();
    private static readonly Config Config = Config.QuickThrowOnFailure.WithMaxTest(400);

    private static MerkleTree BuildTree()
    {
        var tree = new MerkleTree();
        foreach (var leaf in Leaves)
        {
            tree.AppendLeaf(leaf.ToArray());
        }

        return tree;
    }

    /// <summary>MTH from RFC 9162 §2.1.1, written as literally as possible: the oracle for the tree's roots.</summary>
    private static AuditHash ReferenceRoot(ReadOnlySpan<AuditHash> leaves)
    {
        if (leaves.Length == 0)
        {
            return AuditHash.EmptyTreeRoot;
        }

        if (leaves.Length == 1)
        {
            return leaves[0];
        }

        var k = 1;
        while (k * 2 < leaves.Length)
        {
            k *= 2;
        }

        return MerkleHasher.HashChildren(ReferenceRoot(leaves[..k]), ReferenceRoot(leaves[k..]));
    }

    private static Arbitrary<(int Size, int Index, int Salt)> SizeAndIndex() =>
        Arb.From(from size in Gen.Choose(1, MaxSize) from index in Gen.Choose(0, size - 1) from salt in Gen.Choose(0, int.MaxValue) select (size, index, salt));

    private static Arbitrary<(int From, int To, int Salt)> TwoSizes() =>
        Arb.From(from hi in Gen.Choose(1, MaxSize) from lo in Gen.Choose(1, hi) from salt in Gen.Choose(0, int.MaxValue) select (lo, hi, salt));

    private static AuditHash Flip(AuditHash hash, int salt)
    {
        var bytes = hash.ToArray();
        bytes[salt % 32] ^= (byte)(1 << (salt / 32 % 8));
        return new AuditHash(bytes);
    }

    [Fact]
    public void Roots_of_every_size_match_the_literal_rfc_definition()
    {
        for (var size = 0; size <= MaxSize; size++)
        {
            var expected = ReferenceRoot(Leaves.AsSpan(0, size));
            Assert.Equal(expected, Tree.Root(size));
            Assert.Equal(expected, MerkleHasher.ComputeRoot(Leaves[..size]));
        }
    }

    [Fact]
    public void Inclusion_proofs_for_any_index_and_size_verify()
    {
        Check.One(Config, Prop.ForAll(SizeAndIndex(), t =>
        {
            var proof = new InclusionProof(t.Index, t.Size, Tree.InclusionPath(t.Index, t.Size));
            return proof.Verify(Leaves[t.Index], Tree.Root(t.Size));
        }));
    }

    [Fact]
    public void Any_mutation_of_an_inclusion_proof_its_root_or_its_entry_fails()
    {
        Check.One(Config, Prop.ForAll(SizeAndIndex(), t =>
        {
            var path = Tree.InclusionPath(t.Index, t.Size);
            var root = Tree.Root(t.Size);
            var leaf = Leaves[t.Index];
            var failures = new List<bool>();

            failures.Add(!new InclusionProof(t.Index, t.Size, path).Verify(leaf, Flip(root, t.Salt)));

            var entry = Entries[t.Index].ToArray();
            entry[t.Salt % entry.Length] ^= (byte)(1 << (t.Salt % 8));
            failures.Add(!new InclusionProof(t.Index, t.Size, path).Verify(MerkleHasher.HashLeaf(entry), root));

            if (path.Length > 0)
            {
                var mutated = path.ToArray();
                var at = t.Salt % mutated.Length;
                mutated[at] = Flip(mutated[at], t.Salt / 7);
                failures.Add(!new InclusionProof(t.Index, t.Size, mutated).Verify(leaf, root));
                failures.Add(!new InclusionProof(t.Index, t.Size, path[..^1]).Verify(leaf, root));
            }

            failures.Add(!new InclusionProof(t.Index, t.Size, [.. path, root]).Verify(leaf, root));
            if (t.Size > 1)
            {
                var otherIndex = (t.Index + 1 + (t.Salt % (t.Size - 1))) % t.Size;
                failures.Add(!new InclusionProof(otherIndex, t.Size, path).Verify(leaf, root));
            }

            return failures.All(f => f);
        }));
    }

    [Fact]
    public void Consistency_proofs_for_any_pair_of_sizes_verify()
    {
        Check.One(Config, Prop.ForAll(TwoSizes(), t =>
            new ConsistencyProof(t.From, t.To, Tree.ConsistencyPath(t.From, t.To)).Verify(Tree.Root(t.From), Tree.Root(t.To))));
    }

    [Fact]
    public void Any_mutation_of_a_consistency_proof_or_its_roots_fails()
    {
        Check.One(Config, Prop.ForAll(TwoSizes(), t =>
        {
            var path = Tree.ConsistencyPath(t.From, t.To);
            var root1 = Tree.Root(t.From);
            var root2 = Tree.Root(t.To);
            var failures = new List<bool>
            {
                !new ConsistencyProof(t.From, t.To, path).Verify(Flip(root1, t.Salt), root2),
                !new ConsistencyProof(t.From, t.To, path).Verify(root1, Flip(root2, t.Salt)),
                !new ConsistencyProof(t.From, t.To, [.. path, root1]).Verify(root1, root2),
            };
            if (path.Length > 0)
            {
                var mutated = path.ToArray();
                var at = t.Salt % mutated.Length;
                mutated[at] = Flip(mutated[at], t.Salt / 7);
                failures.Add(!new ConsistencyProof(t.From, t.To, mutated).Verify(root1, root2));
                failures.Add(!new ConsistencyProof(t.From, t.To, path[1..]).Verify(root1, root2));
            }

            return failures.All(f => f);
        }));
    }

    [Fact]
    public void Consistency_proof_from_the_empty_tree_is_refused_and_equal_sizes_need_an_empty_proof()
    {
        Assert.False(new ConsistencyProof(0, 5, []).Verify(AuditHash.EmptyTreeRoot, Tree.Root(5)));
        Assert.True(new ConsistencyProof(5, 5, []).Verify(Tree.Root(5), Tree.Root(5)));
        Assert.False(new ConsistencyProof(5, 5, [Tree.Root(5)]).Verify(Tree.Root(5), Tree.Root(5)));
        Assert.False(new ConsistencyProof(6, 5, []).Verify(Tree.Root(6), Tree.Root(5)));
    }
}
