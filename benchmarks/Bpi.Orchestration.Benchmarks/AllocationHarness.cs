using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using Bpi.Orchestration.Benchmarks;

/// <summary>
/// A documented harness for finding the engine's overhead without a profiler (<c>dotnet run -c Release -- allocs
/// [rounds]</c>): runs the engine's deploy + destroy, counts the rounds that did not complete synchronously (each one a
/// thread switch the direct loop never pays), and samples allocations through the runtime's own
/// <c>GCAllocationTick</c> events (one every ~100 KB allocated), printing the types that take the most. Figures it prints
/// do not depend on the machine's load: they count work, not time.
/// </summary>
internal static class AllocationHarness
{
    public static async Task RunAsync(int rounds)
    {
        var bench = new RecreateDeploymentBenchmarks();
        bench.Setup();
        try
        {
            for (var i = 0; i < 2_000; i++)
            {
                await bench.Engine();
            }

            using var listener = new AllocationListener();
            var asynchronous = 0;
            var bytes = GC.GetTotalAllocatedBytes(precise: true);
            for (var i = 0; i < rounds; i++)
            {
                var round = bench.Engine();
                if (!round.IsCompleted)
                {
                    asynchronous++;
                }

                await round;
            }

            bytes = GC.GetTotalAllocatedBytes(precise: true) - bytes;
            listener.Dispose();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"engine: {bytes / rounds:N0} B per deployment over {rounds} rounds; {asynchronous} rounds ({100.0 * asynchronous / rounds:0.0} %) did not complete synchronously"));
            var total = listener.Samples.Values.Sum();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"allocation samples: {total} (each ~100 KB); top types:"));
            foreach (var (type, count) in listener.Samples.OrderByDescending(p => p.Value).Take(25))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {100.0 * count / total,5:0.0} %  {type}"));
            }
        }
        finally
        {
            bench.Cleanup();
        }
    }

    private sealed class AllocationListener : EventListener
    {
        private const EventKeywords GcKeyword = (EventKeywords)0x1;

        public ConcurrentDictionary<string, int> Samples { get; } = new(StringComparer.Ordinal);

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName is { } name && name.StartsWith("GCAllocationTick", StringComparison.Ordinal)
                && eventData.PayloadNames is { } names)
            {
                var index = names.IndexOf("TypeName");
                if (index >= 0 && eventData.Payload?[index] is string type)
                {
                    Samples.AddOrUpdate(type, 1, static (_, n) => n + 1);
                }
            }
        }
    }
}
