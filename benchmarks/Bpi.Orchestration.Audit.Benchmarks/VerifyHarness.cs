using System.Diagnostics;
using Bpi.Orchestration.Audit;

namespace Bpi.Orchestration.Audit.Benchmarks;

/// <summary>
/// The verification harness (<c>dotnet run -c Release -- verify [entries]</c>): builds a closed store of 256-byte-payload
/// entries, then verifies it in full three times and reports entries per second of wall-clock time and per second of
/// process CPU time (the latter is what the code costs, whatever else the machine runs).
/// </summary>
internal static class VerifyHarness
{
    public static async Task RunAsync(int entries)
    {
        var directory = BenchmarkData.TempDirectory("verify-harness");
        try
        {
            using var signer = CheckpointSigner.Generate("bench.example/audit");
            var options = new FileAuditStoreOptions { Path = directory, CheckpointEveryEntries = 100_000, CheckpointInterval = TimeSpan.Zero, CheckpointSigners = { signer } };
            var store = await FileAuditStore.OpenAsync(options);
            var data = Enumerable.Range(0, 64).Select(i => BenchmarkData.Entry(i)).ToArray();
            await BenchmarkData.AppendConcurrentlyAsync(store, 500, entries / 500, data);
            await store.DisposeAsync();
            var verifier = new CheckpointVerifier([signer.VerifierKey]);
            Breakdown(directory);
            for (var run = 0; run < 3; run++)
            {
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var wall = Stopwatch.StartNew();
                var result = await AuditVerifier.VerifyDirectoryAsync(directory, verifier);
                wall.Stop();
                var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
                Console.WriteLine($"verify run {run}: valid={result.IsValid} entries={result.EntriesVerified:N0} wall={wall.Elapsed.TotalMilliseconds:F0}ms " +
                    $"=> {result.EntriesVerified / wall.Elapsed.TotalSeconds:N0} entries/s; cpu={cpuUsed.TotalMilliseconds:F0}ms => {result.EntriesVerified / cpuUsed.TotalSeconds:N0} entries per CPU-second");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Single-threaded CPU cost of each verification step, per entry, over segments already in memory.</summary>
    private static void Breakdown(string directory)
    {
        var files = Directory.GetFiles(directory, "*.seg").Order().Select(File.ReadAllBytes).ToArray();
        var frames = new List<(byte[] File, int Offset, int Length)>();
        foreach (var file in files)
        {
            var position = SegmentHeader.Size;
            while (position < file.Length)
            {
                var length = RecordFraming.HeaderSize + (int)RecordFraming.ReadLength(file.AsSpan(position));
                frames.Add((file, position, length));
                position += length;
            }
        }

        var leaf = new byte[32];
        var range = new CompactRange(0);
        var steps = new (string Name, Action<(byte[] File, int Offset, int Length)> Step)[]
        {
            ("crc32c", f => RecordFraming.CrcMatches(f.File.AsSpan(f.Offset, f.Length))),
            ("validate", f => AuditEntryEncoding.Validate(f.File.AsSpan(f.Offset + 8, f.Length - 8))),
            ("leaf-hash", f => RecordFraming.HashEntryInPlace(f.File.AsSpan(f.Offset, f.Length), leaf)),
            ("compact-range-append", f => range.AppendLeaf(leaf)),
        };
        foreach (var (name, step) in steps)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            foreach (var frame in frames)
            {
                step(frame);
            }

            var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            Console.WriteLine($"step {name}: {used.TotalMilliseconds * 1000 / frames.Count:F3} us CPU per entry ({frames.Count:N0} entries, avg frame {frames.Average(f => f.Length):F0} bytes)");
        }
    }
}
