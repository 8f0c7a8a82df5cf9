using BenchmarkDotNet.Attributes;
using Bpi.Orchestration.Audit;

namespace Bpi.Orchestration.Audit.Benchmarks;

/// <summary>
/// Durable appends with group commit: <see cref="Appenders"/> concurrent callers each append 256-byte-payload entries;
/// every append returns only after the fsync that covers it. One operation = one acknowledged append.
/// </summary>
[MemoryDiagnoser]
public class DurableAppendBenchmarks
{
    private const int TotalAppends = 65_536;
    private readonly NewAuditEntry[] _entries = [.. Enumerable.Range(0, 64).Select(i => BenchmarkData.Entry(i))];
    private string _directory = "";
    private FileAuditStore _store = null!;

    [Params(64, 256, 1024)]
    public int Appenders { get; set; }

    [IterationSetup]
    public void Setup()
    {
        _directory = BenchmarkData.TempDirectory("append");
        _store = FileAuditStore.OpenAsync(new FileAuditStoreOptions { Path = _directory, CheckpointInterval = TimeSpan.Zero, CheckpointEveryEntries = 0 }).AsTask().GetAwaiter().GetResult();
    }

    [IterationCleanup]
    public void Cleanup()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = TotalAppends)]
    public Task AppendDurably() =>
        BenchmarkData.AppendConcurrentlyAsync(_store, Appenders, TotalAppends / Appenders, _entries);
}
