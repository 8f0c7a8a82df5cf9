using System.Diagnostics;
using System.Globalization;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Docker.DockLock;
using Bpi.Orchestration.Components.Docker.Engine;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies.Rolling;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Components.Benchmarks;

/// <summary>
/// A rolling update of 10 replicas v1 → v2 on the real engine through the SDK (<see cref="IOrchestrationVm.UpdateAsync"/>
/// with the rolling strategy, 25% surge / 25% unavailable, until settled), against the lower bound: the same rollout plan
/// (<see cref="IOrchestrationVm.PlanAsync"/>) replayed by a minimal loop that issues only the engine calls each step needs
/// (create+start, inspect until running, stop+remove), with the same parallelism and poll interval. Rounds alternate
/// which goes first; both start from 10 running v1 containers deployed through the SDK.
/// Usage: <c>dotnet run -c Release --project benchmarks/Bpi.Orchestration.Components.Benchmarks -- rolling [rounds] [windowMs]</c>
/// </summary>
internal static class RollingHarness
{
    public static async Task<int> RunAsync(int rounds, int windowMs)
    {
        var options = BenchmarkEngine.Options(TimeSpan.FromMilliseconds(windowMs));
        var services = new ServiceCollection();
        services.AddOrchestration(o =>
            {
                o.VmId = BenchmarkEngine.OwnerId;
                // The direct loop replays the plan on this deployment's own containers: a healer would see them as drift
                // and remove them, so this VM does not heal (the SDK's side measures the rollout alone, as before).
                o.SelfHealing = false;
            })
            .AddDocker(o =>
            {
                o.StopTimeout = options.StopTimeout;
                o.StartupCheckWindow = options.StartupCheckWindow;
            })
            .AddRollingStrategy();
        await using var provider = services.BuildServiceProvider();
        var vm = provider.GetRequiredService<IOrchestrationVm>();
        var runtime = (DockerWorkloadRuntime)provider.GetRequiredService<IDockerWorkloadRuntime>();
        await BenchmarkEngine.BuildImageAsync(runtime.Client);
        await vm.StartAsync();

        var sdk = new List<double>();
        var direct = new List<double>();
        for (var round = -1; round < rounds; round++)
        {
            var sdkFirst = round % 2 == 0;
            var first = await MeasureAsync(vm, runtime, options, sdkFirst);
            var second = await MeasureAsync(vm, runtime, options, !sdkFirst);
            if (round < 0)
            {
                continue;
            }

            var (s, d) = sdkFirst ? (first, second) : (second, first);
            sdk.Add(s);
            direct.Add(d);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round + 1,2}: sdk {s:0.000} s, direct {d:0.000} s, ratio {s / d:0.000}"));
        }

        await runtime.ReconcileAsync(BenchmarkEngine.OwnerId, new HashSet<string>());
        var ratios = sdk.Zip(direct, (s, d) => s / d).ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"rolling update of {BenchmarkEngine.Replicas} (StartupCheckWindow {windowMs} ms): SDK median {Median(sdk):0.000} s; direct replay of the plan median {Median(direct):0.000} s; ratio of medians {Median(sdk) / Median(direct):0.000}; per-round ratio median {Median(ratios):0.000}, geometric mean {Math.Exp(ratios.Average(Math.Log)):0.000}"));
        return 0;
    }

    private static DeploymentSpec Spec(int version) => new()
    {
        Name = "bench",
        AppId = "bench",
        Environment = "bench",
        Components = [BenchmarkEngine.Revision("unused", version).Component],
        Strategy = new RollingStrategySpec(),
        Validation = new ValidationSettings { PollInterval = BenchmarkEngine.PollInterval, ProgressDeadline = TimeSpan.FromMinutes(2) },
    };

    private static async Task<double> MeasureAsync(IOrchestrationVm vm, DockerWorkloadRuntime runtime, DockerRuntimeOptions options, bool sdk)
    {
        var id = await vm.DeployAsync(Spec(1));
        var settled = await vm.WaitUntilSettledAsync(id);
        if (settled.State != DeploymentState.Running)
        {
            throw new InvalidOperationException($"v1 did not deploy: {settled.State} {settled.Message}");
        }

        try
        {
            if (sdk)
            {
                var watch = Stopwatch.StartNew();
                await vm.UpdateAsync(id, Spec(2));
                var status = await vm.WaitUntilSettledAsync(id);
                var elapsed = watch.Elapsed.TotalSeconds;
                if (status.State != DeploymentState.Running || status.StableRevision != 2)
                {
                    throw new InvalidOperationException($"v2 did not roll out: {status.State} {status.Message}");
                }

                return elapsed;
            }

            var plan = await vm.PlanAsync(Spec(2), id);
            var replay = new PlanReplay(runtime.Client, options, id, (await runtime.GetInstancesAsync(id)).Select(i => i.InstanceId).ToList());
            var directWatch = Stopwatch.StartNew();
            await replay.RunAsync(plan);
            return directWatch.Elapsed.TotalSeconds;
        }
        finally
        {
            await vm.DestroyAsync(id, force: true);
            await vm.WaitForStateAsync(id, s => s == DeploymentState.Destroyed);
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>Executes a rollout plan's engine work and nothing else: no store, audit, events or traffic.</summary>
    private sealed class PlanReplay(DockerEngine client, DockerRuntimeOptions options, string deploymentId, List<string> v1)
    {
        private readonly Dictionary<int, List<string>> _containers = new() { [1] = v1 };

        public async Task RunAsync(RolloutPlan plan)
        {
            foreach (var step in plan.Steps)
            {
                switch (step)
                {
                    case ScaleRevisionStep scale:
                        await ScaleAsync(scale.Revision, scale.Replicas);
                        break;
                    case AwaitReadyStep ready:
                        await DirectLoop.WaitRunningAsync(client, _containers[ready.Revision]);
                        break;
                }
            }
        }

        private async Task ScaleAsync(int revision, int replicas)
        {
            var current = _containers.TryGetValue(revision, out var list) ? list : _containers[revision] = [];
            if (replicas > current.Count)
            {
                var template = BenchmarkEngine.Revision(deploymentId, revision);
                var more = template with { Component = template.Component with { Replicas = replicas - current.Count } };
                current.AddRange(await DirectLoop.StartAsync(client, options, more, DockerNaming.NetworkName(deploymentId)));
            }
            else if (replicas < current.Count)
            {
                var surplus = current.Skip(replicas).ToList();
                await DirectLoop.RemoveAsync(client, options, surplus);
                current.RemoveRange(replicas, current.Count - replicas);
            }
        }
    }
}
