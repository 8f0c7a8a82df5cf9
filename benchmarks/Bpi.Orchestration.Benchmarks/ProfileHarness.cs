using System.Diagnostics;
using Bpi.Orchestration;
using Bpi.Orchestration.Benchmarks;

/// <summary>
/// A documented harness beside the BenchmarkDotNet run (<c>dotnet run -c Release -- profile [rounds]</c>): the engine's
/// deploy, settle and destroy times and allocations per deployment, and the direct loop's, interleaved in one process so
/// load from other processes falls on both alike; prints the ratio.
/// </summary>
internal static class ProfileHarness
{
    public static async Task RunAsync(int rounds)
    {
        var bench = new RecreateDeploymentBenchmarks();
        bench.Setup();
        try
        {
            // Warm-up: JIT and pools.
            for (var i = 0; i < 500; i++)
            {
                await bench.Engine();
                await bench.DirectLoop();
            }

            long engineTicks = 0, directTicks = 0, engineBytes = 0, directBytes = 0;
            for (var i = 0; i < rounds; i++)
            {
                var bytes = GC.GetTotalAllocatedBytes(precise: false);
                var start = Stopwatch.GetTimestamp();
                await bench.Engine();
                engineTicks += Stopwatch.GetTimestamp() - start;
                engineBytes += GC.GetTotalAllocatedBytes(precise: false) - bytes;

                bytes = GC.GetTotalAllocatedBytes(precise: false);
                start = Stopwatch.GetTimestamp();
                await bench.DirectLoop();
                directTicks += Stopwatch.GetTimestamp() - start;
                directBytes += GC.GetTotalAllocatedBytes(precise: false) - bytes;
            }

            double Us(long ticks) => ticks * 1e6 / Stopwatch.Frequency / rounds;
            Console.WriteLine($"engine: {Us(engineTicks):0.0} us and {engineBytes / rounds:N0} B per deployment (deploy 5 replicas until Running, then destroy)");
            Console.WriteLine($"direct: {Us(directTicks):0.0} us and {directBytes / rounds:N0} B per deployment (the same runtime and router calls)");
            Console.WriteLine($"ratio:  {(double)engineTicks / directTicks:0.0}x time, {(double)engineBytes / directBytes:0.0}x bytes ({rounds} interleaved rounds)");
        }
        finally
        {
            bench.Cleanup();
        }
    }
}
