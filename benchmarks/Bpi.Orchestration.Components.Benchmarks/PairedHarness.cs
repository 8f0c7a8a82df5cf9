using System.Diagnostics;
using System.Globalization;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Components.Benchmarks;

/// <summary>
/// The same measurement as <see cref="ConvergeBenchmarks"/>, interleaved: each round converges one deployment through
/// the SDK and one through the direct loop (alternating which goes first), so load from other processes on a shared
/// machine falls on both alike; the per-round ratio SDK / direct is summarized by its median and geometric mean.
/// A swarm service update of the same shape is timed in the same rounds.
/// Usage: <c>dotnet run -c Release --project benchmarks/Bpi.Orchestration.Components.Benchmarks -- paired [rounds] [windowMs] [swarm]</c>
/// </summary>
internal static class PairedHarness
{
    public static async Task<int> RunAsync(int rounds, int windowMs, bool withSwarm)
    {
        var options = BenchmarkEngine.Options(TimeSpan.FromMilliseconds(windowMs));
        await using var runtime = BenchmarkEngine.CreateRuntime(options);
        await BenchmarkEngine.BuildImageAsync(runtime.Client);
        using var swarm = withSwarm ? new SwarmService() : null;
        if (swarm is not null)
        {
            await swarm.SetUpAsync();
        }

        var sdk = new List<double>();
        var direct = new List<double>();
        var swarmTimes = new List<double>();
        try
        {
            // One warm-up round of each, not recorded.
            for (var round = -1; round < rounds; round++)
            {
                var sdkFirst = round % 2 == 0;
                var first = await MeasureAsync(runtime, options, sdk: sdkFirst);
                var second = await MeasureAsync(runtime, options, sdk: !sdkFirst);
                double? swarmTime = null;
                if (swarm is not null)
                {
                    var watch = Stopwatch.StartNew();
                    await swarm.UpdateAsync();
                    swarmTime = watch.Elapsed.TotalSeconds;
                }

                if (round < 0)
                {
                    continue;
                }

                var (s, d) = sdkFirst ? (first, second) : (second, first);
                sdk.Add(s);
                direct.Add(d);
                if (swarmTime is { } t)
                {
                    swarmTimes.Add(t);
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round + 1,2}: sdk {s:0.000} s, direct {d:0.000} s, ratio {s / d:0.000}{(swarmTime is { } st ? $", swarm {st:0.000} s" : "")}"));
            }
        }
        finally
        {
            if (swarm is not null)
            {
                await swarm.TearDownAsync();
            }

            await runtime.ReconcileAsync(BenchmarkEngine.OwnerId, new HashSet<string>());
        }

        var ratios = sdk.Zip(direct, (s, d) => s / d).ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"SDK (StartupCheckWindow {windowMs} ms): median {Median(sdk):0.000} s; direct loop: median {Median(direct):0.000} s; ratio of medians {Median(sdk) / Median(direct):0.000}; per-round ratio median {Median(ratios):0.000}, geometric mean {Math.Exp(ratios.Average(Math.Log)):0.000}"));
        if (swarmTimes.Count > 0)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"swarm service update: median {Median(swarmTimes):0.000} s ({Median(swarmTimes) / Median(direct):0.000}x the direct loop)"));
        }

        return 0;
    }

    private static async Task<double> MeasureAsync(DockerWorkloadRuntime runtime, DockerRuntimeOptions options, bool sdk)
    {
        var deploymentId = "bench-" + Guid.NewGuid().ToString("N")[..8];
        var v1 = BenchmarkEngine.Revision(deploymentId, 1);
        var v2 = BenchmarkEngine.Revision(deploymentId, 2);
        await runtime.EnsureReplicasAsync(v1, BenchmarkEngine.Replicas);
        await WaitRunningAsync(runtime, v1);
        var old = (await runtime.GetInstancesAsync(deploymentId)).Select(i => i.InstanceId).ToList();
        try
        {
            var watch = Stopwatch.StartNew();
            if (sdk)
            {
                await runtime.EnsureReplicasAsync(v2, BenchmarkEngine.Replicas);
                await WaitRunningAsync(runtime, v2);
                await runtime.EnsureReplicasAsync(v1, 0);
            }
            else
            {
                var started = await DirectLoop.StartAsync(runtime.Client, options, v2, DockerNaming.NetworkName(deploymentId));
                await DirectLoop.WaitRunningAsync(runtime.Client, started);
                await DirectLoop.RemoveAsync(runtime.Client, options, old);
            }

            return watch.Elapsed.TotalSeconds;
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(deploymentId);
        }
    }

    private static async Task WaitRunningAsync(DockerWorkloadRuntime runtime, WorkloadRevision revision)
    {
        while (true)
        {
            var instances = await runtime.GetInstancesAsync(revision.DeploymentId, revision.Component.Id, revision.Revision);
            if (instances.Count == BenchmarkEngine.Replicas && instances.All(i => i.State == InstanceState.Running))
            {
                return;
            }

            await Task.Delay(BenchmarkEngine.PollInterval);
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
