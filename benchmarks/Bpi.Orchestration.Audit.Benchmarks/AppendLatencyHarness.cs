using System.Diagnostics;
using Bpi.Orchestration.Audit;

namespace Bpi.Orchestration.Audit.Benchmarks;

/// <summary>
/// The latency harness (<c>dotnet run -c Release -- latency [appenders] [seconds]</c>): many concurrent appenders
/// append 256-byte-payload entries to a durable file store for a fixed time; reports acknowledged appends per second
/// and the latency percentiles from call to acknowledgement (after fsync). BenchmarkDotNet measures means; this mode
/// measures the tail.
/// </summary>
internal static class AppendLatencyHarness
{
    public static async Task RunAsync(int appenders, TimeSpan duration)
    {
        var directory = BenchmarkData.TempDirectory("latency");
        try
        {
            var store = await FileAuditStore.OpenAsync(new FileAuditStoreOptions { Path = directory, CheckpointInterval = TimeSpan.Zero, CheckpointEveryEntries = 0 });
            await using (store)
            {
                var entries = Enumerable.Range(0, 64).Select(i => BenchmarkData.Entry(i)).ToArray();
                // Warm up (JIT, file growth).
                await BenchmarkData.AppendConcurrentlyAsync(store, appenders, 200, entries);

                var latencies = new List<long>[appenders];
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var stop = Stopwatch.StartNew();
                var tasks = Enumerable.Range(0, appenders).Select(a => Task.Run(async () =>
                {
                    var mine = latencies[a] = new List<long>(200_000);
                    var i = 0;
                    while (stop.Elapsed < duration)
                    {
                        var started = Stopwatch.GetTimestamp();
                        await store.AppendAsync(entries[i++ & 63]).ConfigureAwait(false);
                        mine.Add(Stopwatch.GetTimestamp() - started);
                    }
                })).ToArray();
                await Task.WhenAll(tasks);
                var elapsed = stop.Elapsed;
                var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
                var all = latencies.SelectMany(l => l).Order().ToArray();
                double Percentile(double p) => all[Math.Min(all.Length - 1, (int)(all.Length * p))] * 1_000_000.0 / Stopwatch.Frequency;
                Console.WriteLine($"appenders={appenders} duration={elapsed.TotalSeconds:F1}s appends={all.Length:N0} throughput={all.Length / elapsed.TotalSeconds:N0}/s " +
                    $"latency_us p50={Percentile(0.50):F0} p90={Percentile(0.90):F0} p99={Percentile(0.99):F0} p99.9={Percentile(0.999):F0} max={Percentile(1):F0} cpu_us_per_append={cpuUsed.TotalMilliseconds * 1000 / all.Length:F2}");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
