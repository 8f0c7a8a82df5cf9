using BenchmarkDotNet.Attributes;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Testing;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.Benchmarks;

/// <summary>
/// One complete recreate deployment of 5 replicas (deploy until Running, then destroy) through the orchestrator on the
/// in-memory runtime, against the same sequence of runtime and router calls issued by a plain loop: the lower bound.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[MinColumn]
public class RecreateDeploymentBenchmarks
{
    private ServiceProvider _provider = null!;
    private IOrchestrationVm _vm = null!;
    private InMemoryWorkloadRuntime _runtime = null!;
    private InMemoryTrafficRouter _router = null!;
    private DeploymentSpec _spec = null!;
    private int _n;

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = "vm-bench").AddInMemoryRuntime().AddInMemoryTrafficRouter();
        _provider = services.BuildServiceProvider();
        _vm = _provider.GetRequiredService<IOrchestrationVm>();
        _runtime = _provider.GetRequiredService<InMemoryWorkloadRuntime>();
        _router = _provider.GetRequiredService<InMemoryTrafficRouter>();
        _vm.StartAsync().GetAwaiter().GetResult();
        _spec = new DeploymentSpec
        {
            Name = "bench",
            AppId = "bench",
            Components =
            [
                new ComponentSpec
                {
                    Id = "web",
                    Image = "bench/web:1",
                    Replicas = 5,
                    Ports = [new PortSpec { ContainerPort = 8080 }],
                },
            ],
        };
    }

    /// <summary>The runtime calls made so far (the "calls" harness).</summary>
    public long RuntimeCalls => _runtime.Calls;

    [GlobalCleanup]
    public void Cleanup() => _provider.Dispose();

    [Benchmark(Description = "engine: deploy 5 replicas (recreate) + destroy")]
    public async Task Engine()
    {
        var id = await _vm.DeployAsync(_spec);
        var status = await _vm.WaitUntilSettledAsync(id);
        if (status.State != DeploymentState.Running)
        {
            throw new InvalidOperationException($"Deployment ended {status.State}: {status.Message}");
        }

        await _vm.DestroyAsync(id);
    }

    [Benchmark(Baseline = true, Description = "direct loop: the same runtime and router calls")]
    public async Task DirectLoop()
    {
        var id = "direct-" + (++_n).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var revision = new WorkloadRevision
        {
            OwnerId = "vm-bench",
            DeploymentId = id,
            DeploymentName = "bench",
            AppId = "bench",
            Environment = "development",
            Revision = 1,
            Component = _spec.Components[0],
        };

        // Deploy: converge, wait until ready, route, sweep stale revisions.
        await _runtime.EnsureReplicasAsync(revision, 5);
        var instances = await _runtime.GetInstancesAsync(id, "web", 1);
        if (instances.Count(i => i.State == InstanceState.Running) != 5)
        {
            throw new InvalidOperationException("not ready");
        }

        instances = await _runtime.GetInstancesAsync(id, "web", 1);
        await _router.ApplyAsync(new TrafficRoute(TrafficRoute.ForComponent(id, "web"), [new TrafficBackend(1, 100, [.. instances.Select(i => i.Endpoint!)])]));
        await _runtime.GetInstancesAsync(id);

        // The settled status the engine benchmark waits for reports the instances: one more read.
        await _runtime.GetInstancesAsync(id);

        // Destroy: scale to zero, remove the route, remove the deployment.
        await _runtime.GetInstancesAsync(id);
        await _runtime.EnsureReplicasAsync(revision, 0);
        await _router.RemoveAsync(TrafficRoute.ForComponent(id, "web"));
        await _runtime.RemoveDeploymentAsync(id);
    }
}
