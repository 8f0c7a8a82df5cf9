using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;

namespace Bpi.Orchestration.Components.Benchmarks;

/// <summary>A single-node swarm converging a 10-task service to the next version, for comparison with <see cref="ConvergeBenchmarks"/>.</summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 10, invocationCount: 1)]
public class SwarmUpdateBenchmarks
{
    private SwarmService _swarm = null!;

    [GlobalSetup]
    public void Setup()
    {
        var options = BenchmarkEngine.Options(TimeSpan.Zero);
        using (var client = BenchmarkEngine.CreateClient(options))
        {
            BenchmarkEngine.BuildImageAsync(client).GetAwaiter().GetResult();
        }

        _swarm = new SwarmService();
        _swarm.SetUpAsync().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _swarm.TearDownAsync().GetAwaiter().GetResult();
        _swarm.Dispose();
    }

    [Benchmark(Description = "swarm: service update of 10 tasks (parallelism 10, start-first)")]
    public Task SwarmServiceUpdate() => _swarm.UpdateAsync();
}
