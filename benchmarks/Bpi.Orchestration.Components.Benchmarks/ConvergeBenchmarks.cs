using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Docker.Engine;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Components.Benchmarks;

/// <summary>
/// Converging 10 replicas of v1 to v2 on the real engine — start the new revision, wait until it runs, remove the old —
/// through the SDK (<see cref="DockerWorkloadRuntime.EnsureReplicasAsync"/>), against the lower bound (the same engine
/// calls from a minimal loop); <see cref="SwarmUpdateBenchmarks"/> measures a swarm service update of the same shape. Each iteration starts from 10 running v1
/// containers. Until the Strategies package brings the rolling strategy, this is the SDK side of the rolling update.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 10, invocationCount: 1)]
public class ConvergeBenchmarks
{
    private DockerRuntimeOptions _options = null!;
    private DockerWorkloadRuntime _runtime = null!;
    private DockerEngine _client = null!;
    private string _deploymentId = "";
    private string _network = "";
    private List<string> _old = [];

    /// <summary>The SDK's startup check window (0: one inspect after the start, as the direct loop does).</summary>
    [ParamsSource(nameof(Windows))]
    public int StartupCheckWindowMs { get; set; }

    public static IEnumerable<int> Windows => [0, 500];

    [GlobalSetup]
    public void Setup()
    {
        _options = BenchmarkEngine.Options(TimeSpan.FromMilliseconds(StartupCheckWindowMs));
        _runtime = BenchmarkEngine.CreateRuntime(_options);
        _client = _runtime.Client;
        BenchmarkEngine.BuildImageAsync(_client).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _runtime.ReconcileAsync(BenchmarkEngine.OwnerId, new HashSet<string>()).AsTask().GetAwaiter().GetResult();
        _runtime.Dispose();
    }

    [IterationSetup]
    public void StartV1()
    {
        _deploymentId = "bench-" + Guid.NewGuid().ToString("N")[..8];
        var v1 = BenchmarkEngine.Revision(_deploymentId, 1);
        _runtime.EnsureReplicasAsync(v1, BenchmarkEngine.Replicas).AsTask().GetAwaiter().GetResult();
        WaitRunningAsync(v1).GetAwaiter().GetResult();
        _old = _runtime.GetInstancesAsync(_deploymentId).AsTask().GetAwaiter().GetResult().Select(i => i.InstanceId).ToList();
        _network = DockerNaming.NetworkName(_deploymentId);
    }

    [IterationCleanup]
    public void RemoveDeployment() => _runtime.RemoveDeploymentAsync(_deploymentId).AsTask().GetAwaiter().GetResult();

    [Benchmark(Description = "SDK: EnsureReplicas v2=10, wait running, EnsureReplicas v1=0")]
    public async Task Sdk()
    {
        var v2 = BenchmarkEngine.Revision(_deploymentId, 2);
        await _runtime.EnsureReplicasAsync(v2, BenchmarkEngine.Replicas);
        await WaitRunningAsync(v2);
        await _runtime.EnsureReplicasAsync(BenchmarkEngine.Revision(_deploymentId, 1), 0);
    }

    [Benchmark(Baseline = true, Description = "direct loop: create+start 10, inspect until running, stop+remove 10")]
    public async Task DirectLoopLowerBound()
    {
        var v2 = BenchmarkEngine.Revision(_deploymentId, 2);
        var started = await DirectLoop.StartAsync(_client, _options, v2, _network);
        await DirectLoop.WaitRunningAsync(_client, started);
        await DirectLoop.RemoveAsync(_client, _options, _old);
    }

    private async Task WaitRunningAsync(WorkloadRevision revision)
    {
        while (true)
        {
            var instances = await _runtime.GetInstancesAsync(revision.DeploymentId, revision.Component.Id, revision.Revision);
            if (instances.Count == BenchmarkEngine.Replicas && instances.All(i => i.State == InstanceState.Running))
            {
                return;
            }

            await Task.Delay(BenchmarkEngine.PollInterval);
        }
    }
}
