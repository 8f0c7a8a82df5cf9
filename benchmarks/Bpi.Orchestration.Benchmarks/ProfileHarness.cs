using System.Diagnostics;
using Bpi.Orchestration;
using Bpi.Orchestration.Benchmarks;

/// <summary>
/// A documented harness beside the BenchmarkDotNet run (<c>dotnet run -c Release -- profile [rounds]</c>): the engine's
/// deploy, settle and destroy times and allocations per deployment, and the direct loop's, interleaved in one process so
/// load from other processes falls on both alike; prints the ratio. The rounds run in batches from a method called many
/// times, so the JIT optimizes the loop itself as it does in BenchmarkDotNet (a loop run once in one method stays in
/// its first, unoptimized tier).
/// </summary>
internal static class ProfileHarness
{
    private const int Batch = 250;

    public static async Task RunAsync(int rounds)
    {
        var bench = new RecreateDeploymentBenchmarks();
        bench.Setup();
        try
        {
            var totals = new Totals();

            // Warm-up: JIT tiers, pools.
            for (var i = 0; i < 40; i++)
            {
                await RoundsAsync(bench, Batch, new Totals());
            }

            for (var done = 0; done < rounds; done += Batch)
            {
                await RoundsAsync(bench, Math.Min(Batch, rounds - done), totals);
            }

            double Us(long ticks) => ticks * 1e6 / Stopwatch.Frequency / totals.Rounds;
            Console.WriteLine($"engine: {Us(totals.EngineTicks):0.0} us and {totals.EngineBytes / totals.Rounds:N0} B per deployment (deploy 5 replicas until Running, then destroy)");
            Console.WriteLine($"direct: {Us(totals.DirectTicks):0.0} us and {totals.DirectBytes / totals.Rounds:N0} B per deployment (the same runtime and router calls)");
            Console.WriteLine($"ratio:  {(double)totals.EngineTicks / totals.DirectTicks:0.0}x time, {(double)totals.EngineBytes / totals.DirectBytes:0.0}x bytes ({totals.Rounds} interleaved rounds)");
        }
        finally
        {
            bench.Cleanup();
        }
    }

    private static async Task RoundsAsync(RecreateDeploymentBenchmarks bench, int count, Totals totals)
    {
        for (var i = 0; i < count; i++)
        {
            var bytes = GC.GetAllocatedBytesForCurrentThread();
            var start = Stopwatch.GetTimestamp();
            await bench.Engine();
            totals.EngineTicks += Stopwatch.GetTimestamp() - start;
            totals.EngineBytes += GC.GetAllocatedBytesForCurrentThread() - bytes;

            bytes = GC.GetAllocatedBytesForCurrentThread();
            start = Stopwatch.GetTimestamp();
            await bench.DirectLoop();
            totals.DirectTicks += Stopwatch.GetTimestamp() - start;
            totals.DirectBytes += GC.GetAllocatedBytesForCurrentThread() - bytes;
            totals.Rounds++;
        }
    }

    private sealed class Totals
    {
        public long EngineTicks { get; set; }

        public long EngineBytes { get; set; }

        public long DirectTicks { get; set; }

        public long DirectBytes { get; set; }

        public long Rounds { get; set; }
    }
}
