using BenchmarkDotNet.Attributes;
using Bpi.Orchestration.Audit;

namespace Bpi.Orchestration.Audit.Benchmarks;

/// <summary>Full verification (CRC-32C, encoding, sequence, hash chain, Merkle root) of a closed 1,000,000-entry store. One operation = one entry.</summary>
[MemoryDiagnoser]
public class VerificationBenchmarks
{
    private const int Entries = 1_000_000;
    private string _directory = "";
    private CheckpointVerifier _verifier = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = BenchmarkData.TempDirectory("verify");
        using var signer = CheckpointSigner.Generate("bench.example/audit");
        _verifier = new CheckpointVerifier([signer.VerifierKey]);
        var options = new FileAuditStoreOptions { Path = _directory, CheckpointEveryEntries = 100_000, CheckpointInterval = TimeSpan.Zero, CheckpointSigners = { signer } };
        var store = FileAuditStore.OpenAsync(options).AsTask().GetAwaiter().GetResult();
        var entries = Enumerable.Range(0, 64).Select(i => BenchmarkData.Entry(i)).ToArray();
        BenchmarkData.AppendConcurrentlyAsync(store, 500, Entries / 500, entries).GetAwaiter().GetResult();
        store.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_directory, recursive: true);

    [Benchmark(OperationsPerInvoke = Entries)]
    public async Task<long> VerifyDirectory()
    {
        var result = await AuditVerifier.VerifyDirectoryAsync(_directory, _verifier);
        if (!result.IsValid || result.EntriesVerified != Entries)
        {
            throw new InvalidOperationException(result.Message);
        }

        return result.EntriesVerified;
    }
}
