using System.Text.Json;

namespace Bpi.Orchestration.Audit.Tests.Merkle;

public sealed class MerkleVectorTests
{
    [Fact]
    public void Hasher_reproduces_the_rfc6962_hasher_vectors()
    {
        Assert.Equal(MerkleVectors.Rfc6962.GetProperty("emptyRoot").GetString(), AuditHash.EmptyTreeRoot.ToString());
        var checkedVectors = 0;
        foreach (var vector in MerkleVectors.Rfc6962.GetProperty("hasher").EnumerateArray())
        {
            var expected = vector.GetProperty("hash").GetString();
            var actual = new byte[32];
            if (vector.GetProperty("kind").GetString() == "leaf")
            {
                MerkleHashing.HashLeaf(Convert.FromHexString(vector.GetProperty("input").GetString()!), actual);
                Assert.Equal(expected, MerkleHasher.HashLeaf(Convert.FromHexString(vector.GetProperty("input").GetString()!)).ToString());
            }
            else
            {
                MerkleHashing.HashChildren(Convert.FromHexString(vector.GetProperty("left").GetString()!), Convert.FromHexString(vector.GetProperty("right").GetString()!), actual);
            }

            Assert.Equal(expected, Convert.ToHexStringLower(actual));
            checkedVectors++;
        }

        Assert.Equal(3, checkedVectors);
    }

    [Fact]
    public void Roots_of_sizes_0_to_8_match_the_reference_roots()
    {
        var leaves = MerkleVectors.LeafInputs.Select(b => MerkleHasher.HashLeaf(b)).ToList();
        var roots = MerkleVectors.Rfc6962.GetProperty("roots").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(9, roots.Count);
        var tree = new MerkleTree();
        for (var size = 0; size <= 8; size++)
        {
            Assert.Equal(roots[size], MerkleHasher.ComputeRoot(leaves.Take(size).ToList()).ToString());
            Assert.Equal(roots[size], tree.Root(size).ToString());
            if (size < 8)
            {
                tree.AppendLeaf(leaves[size].ToArray());
            }
        }
    }

    [Fact]
    public void Every_perfect_subtree_hash_matches_the_reference_node_hashes()
    {
        var tree = new MerkleTree();
        foreach (var input in MerkleVectors.LeafInputs)
        {
            tree.AppendLeaf(MerkleHasher.HashLeaf(input).ToArray());
        }

        var level = 0;
        foreach (var row in MerkleVectors.Rfc6962.GetProperty("nodeHashes").EnumerateArray())
        {
            var index = 0;
            foreach (var hash in row.EnumerateArray())
            {
                Assert.Equal(hash.GetString(), tree.NodeHash(level, index).ToString());
                index++;
            }

            level++;
        }

        Assert.Equal(4, level);
    }

    public static TheoryData<string> InclusionProbeNames() => [.. MerkleVectors.InclusionProbes.Select(p => p.GetProperty("probe").GetString()!)];

    public static TheoryData<string> ConsistencyProbeNames() => [.. MerkleVectors.ConsistencyProbes.Select(p => p.GetProperty("probe").GetString()!)];

    [Theory]
    [MemberData(nameof(InclusionProbeNames))]
    public void Inclusion_verification_agrees_with_every_reference_probe(string name)
    {
        var probe = MerkleVectors.InclusionProbes.Single(p => p.GetProperty("probe").GetString() == name);
        var error = MerkleProofVerifier.VerifyInclusion(
            Int64OrInvalid(probe.GetProperty("index")),
            Int64OrInvalid(probe.GetProperty("size")),
            MerkleVectors.B64(probe.GetProperty("leaf")),
            new ByteArrayNodes(MerkleVectors.Proof(probe)),
            MerkleVectors.B64(probe.GetProperty("root")));
        Assert.Equal(probe.GetProperty("valid").GetBoolean(), error is null);
    }

    [Theory]
    [MemberData(nameof(ConsistencyProbeNames))]
    public void Consistency_verification_agrees_with_every_reference_probe(string name)
    {
        var probe = MerkleVectors.ConsistencyProbes.Single(p => p.GetProperty("probe").GetString() == name);
        var error = MerkleProofVerifier.VerifyConsistency(
            Int64OrInvalid(probe.GetProperty("size1")),
            Int64OrInvalid(probe.GetProperty("size2")),
            MerkleVectors.B64(probe.GetProperty("root1")),
            MerkleVectors.B64(probe.GetProperty("root2")),
            new ByteArrayNodes(MerkleVectors.Proof(probe)));
        Assert.Equal(probe.GetProperty("valid").GetBoolean(), error is null);
    }

    /// <summary>The probes use uint64; values past long.MaxValue (an index of -1 wrapped around) are out of range for this API.</summary>
    private static long Int64OrInvalid(JsonElement value) => value.TryGetInt64(out var v) ? v : -1;

    [Fact]
    public void The_probe_copy_holds_98_inclusion_and_98_consistency_probes_with_broken_ones()
    {
        Assert.Equal(98, MerkleVectors.InclusionProbes.Count);
        Assert.Equal(98, MerkleVectors.ConsistencyProbes.Count);
        Assert.True(MerkleVectors.InclusionProbes.Count(p => !p.GetProperty("valid").GetBoolean()) > 80);
        Assert.True(MerkleVectors.ConsistencyProbes.Count(p => !p.GetProperty("valid").GetBoolean()) > 80);
    }

    [Fact]
    public void Generated_proofs_for_the_reference_tree_match_the_happy_path_probes()
    {
        var tree = new MerkleTree();
        foreach (var input in MerkleVectors.LeafInputs)
        {
            tree.AppendLeaf(MerkleHasher.HashLeaf(input).ToArray());
        }

        foreach (var probe in MerkleVectors.InclusionProbes.Where(p => p.GetProperty("valid").GetBoolean() && p.GetProperty("size").GetInt64() == 8))
        {
            var expected = MerkleVectors.Proof(probe).Select(Convert.ToBase64String).ToList();
            var actual = tree.InclusionPath(probe.GetProperty("index").GetInt64(), 8).Select(h => h.ToBase64()).ToList();
            Assert.Equal(expected, actual);
        }

        var matched = 0;
        foreach (var probe in MerkleVectors.ConsistencyProbes.Where(p => p.GetProperty("valid").GetBoolean() && p.GetProperty("size2").GetInt64() <= 8))
        {
            var expected = MerkleVectors.Proof(probe).Select(Convert.ToBase64String).ToList();
            var actual = tree.ConsistencyPath(probe.GetProperty("size1").GetInt64(), probe.GetProperty("size2").GetInt64()).Select(h => h.ToBase64()).ToList();
            Assert.Equal(expected, actual);
            matched++;
        }

        Assert.True(matched >= 5);
    }
}
