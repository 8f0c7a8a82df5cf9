using BenchmarkDotNet.Attributes;
using Bpi.Orchestration.Audit;

namespace Bpi.Orchestration.Audit.Benchmarks;

/// <summary>Inclusion proofs in a tree of 2^20 + 12,345 entries (over a million): verification, and generation from the store's tree.</summary>
[MemoryDiagnoser]
public class InclusionProofBenchmarks
{
    private const long Size = (1L << 20) + 12_345;
    private readonly MerkleTree _tree = new();
    private InclusionProof[] _proofs = [];
    private AuditHash[] _leaves = [];
    private AuditHash _root;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        Span<byte> leaf = stackalloc byte[32];
        for (long i = 0; i < Size; i++)
        {
            BitConverter.TryWriteBytes(leaf, i);
            var hash = MerkleHasher.HashLeaf(leaf[..8]);
            hash.CopyTo(leaf);
            _tree.AppendLeaf(leaf);
        }

        _root = _tree.Root(Size);
        var random = new Random(7);
        var indexes = Enumerable.Range(0, 1024).Select(_ => random.NextInt64(Size)).ToArray();
        _proofs = [.. indexes.Select(i => new InclusionProof(i, Size, _tree.InclusionPath(i, Size)))];
        _leaves = [.. indexes.Select(_tree.LeafHash)];
    }

    [Benchmark]
    public bool VerifyInclusionProof()
    {
        var i = _next++ & 1023;
        return _proofs[i].Verify(_leaves[i], _root);
    }

    /// <summary>One RFC 9162 node hash (SHA-256 of 65 bytes): the unit cost of every proof step.</summary>
    [Benchmark]
    public AuditHash HashOneNode() => MerkleHasher.HashChildren(_root, _leaves[_next++ & 1023]);

    [Benchmark]
    public int GenerateInclusionProof()
    {
        var i = _next++ & 1023;
        return _tree.InclusionPath(_proofs[i].LeafIndex, Size).Length;
    }
}
