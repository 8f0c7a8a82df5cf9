using System.Globalization;
using System.Runtime.InteropServices;
using Bpi.Orchestration.Benchmarks;

/// <summary>
/// A documented harness for a busy machine (<c>dotnet run -c Release -- cpu [rounds per batch] [batches]</c>): the
/// engine's deploy + destroy and the direct loop in alternating batches, each timed by the calling thread's own CPU
/// time (<c>CLOCK_THREAD_CPUTIME_ID</c>) rather than the wall clock, so time the thread spends preempted by other
/// processes is not counted. Both run synchronously on the in-memory runtime (the <c>allocs</c> harness checks that),
/// so the thread's CPU time is the whole of their work but for background GC. Linux only.
/// </summary>
internal static partial class CpuTimeHarness
{
    private const int ClockThreadCpuTime = 3;

    public static async Task<int> RunAsync(int rounds, int batches)
    {
        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("the cpu harness reads CLOCK_THREAD_CPUTIME_ID and runs on Linux only");
            return 2;
        }

        var bench = new RecreateDeploymentBenchmarks();
        bench.Setup();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                await BatchAsync(bench.Engine, 2_000);
                await BatchAsync(bench.DirectLoop, 2_000);
            }

            var engine = new List<double>();
            var direct = new List<double>();
            for (var b = 0; b < batches; b++)
            {
                engine.Add(await BatchAsync(bench.Engine, rounds) / rounds);
                direct.Add(await BatchAsync(bench.DirectLoop, rounds) / rounds);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"batch {b + 1}: engine {engine[^1]:0.00} us, direct {direct[^1]:0.00} us CPU per deployment, ratio {engine[^1] / direct[^1]:0.00}x"));
            }

            engine.Sort();
            direct.Sort();
            double Median(List<double> v) => v.Count % 2 == 1 ? v[v.Count / 2] : (v[(v.Count / 2) - 1] + v[v.Count / 2]) / 2;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median: engine {Median(engine):0.00} us, direct {Median(direct):0.00} us CPU per deployment; ratio {Median(engine) / Median(direct):0.00}x; min ratio {engine[0] / direct[0]:0.00}x ({batches} batches of {rounds})"));
            return 0;
        }
        finally
        {
            bench.Cleanup();
        }
    }

    // Microseconds of this thread's CPU time spent running `round` `rounds` times.
    private static async Task<double> BatchAsync(Func<Task> round, int rounds)
    {
        var start = ThreadCpuMicroseconds();
        for (var i = 0; i < rounds; i++)
        {
            var task = round();
            if (!task.IsCompleted)
            {
                throw new InvalidOperationException("a round did not complete synchronously: thread CPU time would miss its work");
            }

            await task;
        }

        return ThreadCpuMicroseconds() - start;
    }

    private static double ThreadCpuMicroseconds()
    {
        if (ClockGetTime(ClockThreadCpuTime, out var now) != 0)
        {
            throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        }

        return (now.Seconds * 1e6) + (now.Nanoseconds / 1e3);
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
