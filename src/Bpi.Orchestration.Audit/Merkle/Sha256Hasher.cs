using System.Security.Cryptography;

namespace Bpi.Orchestration.Audit;

/// <summary>
/// SHA-256 for the hot paths. One reused <see cref="IncrementalHash"/> per thread: for the small inputs of a Merkle
/// tree (65-byte nodes, entries of a few hundred bytes) the per-call setup of the one-shot <see cref="SHA256.HashData(ReadOnlySpan{byte}, Span{byte})"/>
/// dominates, and reusing the context makes a node hash about a third cheaper.
/// </summary>
internal static class Sha256Hasher
{
    [ThreadStatic]
    private static IncrementalHash? t_hash;

    public static void Hash(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        var hash = t_hash ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(data);
        hash.GetHashAndReset(destination);
    }
}
